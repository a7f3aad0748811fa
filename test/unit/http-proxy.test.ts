import assert from 'node:assert/strict';
import { noProxyMatches, proxyFor } from '../../src/http/proxy.js';

describe('http/proxy', () => {
  describe('NO_PROXY', () => {
    const cases: Array<[string, string, boolean]> = [
      ['https://registry.corp.example/v2/', 'corp.example', true],
      ['https://registry.corp.example/v2/', '.corp.example', true],
      ['https://registry.corp.example/v2/', '*.corp.example', true],
      ['https://notcorp.example/v2/', 'corp.example', false],
      ['https://gcr.io/v2/', '*', true],
      ['http://127.0.0.1:5000/v2/', '127.0.0.1', true],
      ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000', true],
      ['http://127.0.0.1:5001/v2/', '127.0.0.1:5000', false],
      ['https://quay.io/v2/', 'quay.io:443', true],
      ['http://[::1]:5000/v2/', '::1', true],
      ['http://[::1]:5000/v2/', '[::1]', true],
      ['http://[::1]:5000/v2/', '[::1]:5000', true],
      ['http://[::1]:5000/v2/', '[::1]:6000', false],
      ['http://10.1.2.3/v2/', '10.0.0.0/8', true],
      ['http://11.1.2.3/v2/', '10.0.0.0/8', false],
      ['http://[fd00::5]/v2/', 'fd00::/8', true],
      ['https://gcr.io/v2/', ' quay.io , gcr.io ', true],
      ['https://gcr.io/v2/', '', false],
    ];
    for (const [url, noProxy, exempt] of cases) {
      it(`${url} with NO_PROXY=${JSON.stringify(noProxy)} ${exempt ? 'goes straight' : 'is proxied'}`, () => assert.equal(noProxyMatches(new URL(url), noProxy), exempt));
    }
  });

  describe('which proxy', () => {
    const url = (text: string) => new URL(text);
    it('reads https_proxy for https and http_proxy for http, lower case first', () => {
      const env = { https_proxy: 'http://lower:3128', HTTPS_PROXY: 'http://upper:3128', HTTP_PROXY: 'http://plain:3128' };
      assert.equal(proxyFor(url('https://gcr.io/v2/'), undefined, env), 'http://lower:3128/');
      assert.equal(proxyFor(url('http://reg.lan/v2/'), undefined, env), 'http://plain:3128/');
      assert.equal(proxyFor(url('https://gcr.io/v2/'), undefined, { HTTP_PROXY: 'http://plain:3128' }), undefined, 'no fallback from https to HTTP_PROXY');
    });
    it('uses proxy: for both schemes, still honouring NO_PROXY, and reads a bare host:port as http', () => {
      assert.equal(proxyFor(url('https://gcr.io/v2/'), 'proxy.corp:3128', {}), 'http://proxy.corp:3128/');
      assert.equal(proxyFor(url('https://gcr.io/v2/'), 'http://proxy.corp:3128', { NO_PROXY: 'gcr.io' }), undefined);
    });
    it('refuses a proxy scheme it cannot speak', () => {
      assert.throws(() => proxyFor(url('https://gcr.io/v2/'), 'ftp://proxy:21', {}), /proxy scheme ftp: is not supported/);
    });
  });
});
