import assert from 'node:assert/strict';
import { formatReference, isLoopbackHost, parseLocation, parseReference } from '../../src/ref/reference.js';
import { isGcrsyncError } from '../../src/errors.js';

describe('parseReference', () => {
  const good: Array<[string, string]> = [
    ['nginx', 'docker.io/library/nginx'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25'],
    ['index.docker.io/gcrxio/pause:3.1', 'docker.io/gcrxio/pause:3.1'],
    ['localhost:5000/a/b:v1', 'localhost:5000/a/b:v1'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x'],
    ['gcr.io/google-containers/sub/pause:3.1', 'gcr.io/google-containers/sub/pause:3.1'],
    ['registry.k8s.io/pause@sha256:' + 'a'.repeat(64), 'registry.k8s.io/pause@sha256:' + 'a'.repeat(64)],
    ['quay.io/calico/node:v3.27.0@sha256:' + 'b'.repeat(64), 'quay.io/calico/node:v3.27.0@sha256:' + 'b'.repeat(64)],
  ];
  for (const [input, expected] of good) {
    it(`parses ${input}`, () => assert.equal(formatReference(parseReference(input)), expected));
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['gcr.io/Foo:1', /lowercase/],
    ['gcr.io/a/../b:1', /repository/],
    ['gcr.io/a//b', /repository/],
    ['nginx:-bad', /tag/],
    ['nginx:' + 'x'.repeat(129), /tag/],
    ['nginx@sha256:zz', /digest/],
    ['a b', /white space/],
    ['gcr.io/ünïcode', /repository/],
  ];
  for (const [input, why] of bad) {
    it(`refuses ${JSON.stringify(input)} naming the input`, () => {
      assert.throws(
        () => parseReference(input),
        (error: unknown) => isGcrsyncError(error, 'BAD_REFERENCE') && why.test(error.message) && error.message.includes(JSON.stringify(input)),
      );
    });
  }
});

describe('parseLocation', () => {
  it('splits registry and path', () => {
    assert.deepEqual(parseLocation('gcr.io/google-containers'), { registry: 'gcr.io', path: 'google-containers' });
    assert.deepEqual(parseLocation('127.0.0.1:5000'), { registry: '127.0.0.1:5000', path: '' });
    assert.deepEqual(parseLocation('gcrxio'), { registry: 'docker.io', path: 'gcrxio' });
    assert.deepEqual(parseLocation('docker.io/gcrxio/'), { registry: 'docker.io', path: 'gcrxio' });
  });
  it('refuses a path with ..', () => assert.throws(() => parseLocation('gcr.io/../etc'), /path/));
});

describe('isLoopbackHost', () => {
  for (const host of ['127.0.0.1:5000', 'localhost', 'localhost:80', '[::1]:5000', '[::1]', '::1', '127.1.2.3']) {
    it(`${host} is loopback`, () => assert.equal(isLoopbackHost(host), true));
  }
  for (const host of ['gcr.io', '10.0.0.1:5000', '[fe80::1]:5000', 'localhost.evil.com']) {
    it(`${host} is not`, () => assert.equal(isLoopbackHost(host), false));
  }
});
