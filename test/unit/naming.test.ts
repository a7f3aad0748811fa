import assert from 'node:assert/strict';
import { relativeRepository, targetRepository } from '../../src/ref/naming.js';

describe('default mirror naming', () => {
  it('keeps the path under the namespace for a private registry', () => {
    assert.equal(targetRepository({ registry: '127.0.0.1:5000', path: 'mirror' }, 'sub/app'), 'mirror/sub/app');
    assert.equal(targetRepository({ registry: '127.0.0.1:5000', path: '' }, 'sub/app'), 'sub/app');
  });
  it('flattens nested paths with _ for Docker Hub (one level only)', () => {
    assert.equal(targetRepository({ registry: 'docker.io', path: 'gcrxio' }, 'pause'), 'gcrxio/pause');
    assert.equal(targetRepository({ registry: 'docker.io', path: 'gcrxio' }, 'a/b/c'), 'gcrxio/a_b_c');
    assert.throws(() => targetRepository({ registry: 'docker.io', path: 'a/b' }, 'x'), /more than one path level/);
  });
  it('computes the metadata key relative to the namespace', () => {
    assert.equal(relativeRepository({ registry: 'gcr.io', namespace: 'ns' }, 'ns/sub/app'), 'sub/app');
    assert.equal(relativeRepository({ registry: 'gcr.io', namespace: 'ns/app' }, 'ns/app'), 'app');
    assert.equal(relativeRepository({ registry: 'r', namespace: '' }, 'x/y'), 'x/y');
    assert.throws(() => relativeRepository({ registry: 'gcr.io', namespace: 'ns' }, 'nsx/app'), /outside namespace/);
  });
});
