import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { isGcrsyncError } from '../../src/errors.js';
import { HttpResponse, ResponseHeaders } from '../../src/http/response.js';

describe('ResponseHeaders', () => {
  it('reads names in any case, joins repeated values for get and keeps them apart for all', () => {
    const headers = new ResponseHeaders({ 'docker-content-digest': 'sha256:x', 'www-authenticate': ['Bearer a', 'Basic b'] });
    assert.equal(headers.get('Docker-Content-Digest'), 'sha256:x');
    assert.equal(headers.get('www-authenticate'), 'Bearer a, Basic b');
    assert.deepEqual(headers.all('WWW-Authenticate'), ['Bearer a', 'Basic b']);
    assert.equal(headers.get('location'), undefined);
    assert.deepEqual(headers.all('location'), []);
  });
  it('folds names given in mixed case together', () => {
    const headers = new ResponseHeaders({ 'Content-Type': 'application/json', Link: '<a>', link: ['<b>', '<c>'], skipped: undefined });
    assert.equal(headers.get('content-type'), 'application/json');
    assert.deepEqual(headers.all('link'), ['<a>', '<b>', '<c>']);
    assert.deepEqual(headers.all('skipped'), []);
  });
});

describe('HttpResponse.buffer', () => {
  const respond = (body: Readable, length?: number) =>
    new HttpResponse(200, new URL('http://127.0.0.1:5000/v2/'), new ResponseHeaders(length === undefined ? {} : { 'content-length': String(length) }), body);
  it('gathers a body of a declared length through arrayBuffer when the stream offers it', async () => {
    const body = Object.assign(Readable.from([]), { arrayBuffer: async () => new TextEncoder().encode('{"a":1}').buffer });
    const response = respond(body, 7);
    assert.equal((await response.buffer(100)).toString(), '{"a":1}');
    assert.equal(response.bytesRead, 7);
  });
  it('reads a body without a declared length piece by piece, and refuses one past the limit', async () => {
    assert.equal((await respond(Readable.from([Buffer.from('ab'), Buffer.from('cd')])).buffer(10)).toString(), 'abcd');
    await assert.rejects(respond(Readable.from([Buffer.from('abcdef')])).buffer(4), (error) => isGcrsyncError(error, 'HOSTILE_RESPONSE'));
  });
  it('says a body cut off before its declared length came in, as a REGISTRY error keeping the status', async () => {
    const body = Object.assign(Readable.from([]), { arrayBuffer: async () => Promise.reject(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })) });
    await assert.rejects(respond(body, 50).buffer(100), (error) => isGcrsyncError(error, 'REGISTRY') && error.info.status === 200 && /before its 50 bytes were in \(UND_ERR_SOCKET\)/.test(error.message));
  });
});
