import assert from 'node:assert/strict';
import { isGcrsyncError } from '../../src/errors.js';
import { metadataFilePath, parseMetadataFilePath } from '../../src/store/layout.js';

describe('store layout: metadata file paths', () => {
  const cases: Array<[string, string, string]> = [
    ['gcr.io', 'google-containers', 'metadata/gcr.io/google-containers.json'],
    ['registry.k8s.io', 'sig-storage/csi', 'metadata/registry.k8s.io/sig-storage/csi.json'],
    ['localhost:5000', 'a/b', 'metadata/localhost_5000/a/b.json'],
    ['quay.io', '', 'metadata/quay.io/_root.json'],
    ['GCR.io', 'x', 'metadata/gcr.io/x.json'],
    ['[::1]:5000', 'x', 'metadata/[__1]_5000/x.json'],
  ];
  for (const [registry, namespace, file] of cases) {
    it(`maps ${registry} + ${JSON.stringify(namespace)} to ${file} and back`, () => {
      assert.equal(metadataFilePath(registry, namespace), file);
      assert.deepEqual(parseMetadataFilePath(file), { registry: registry.toLowerCase(), namespace });
    });
  }

  const perTarget: Array<[string, string, string, string]> = [
    ['gcr.io', 'google-containers', 'docker.io/gcrxio', 'metadata/gcr.io/google-containers@docker.io+gcrxio.json'],
    ['gcr.io', 'a/b', 'localhost:5000/m/n', 'metadata/gcr.io/a/b@localhost_5000+m+n.json'],
    ['quay.io', '', 'r.example.com', 'metadata/quay.io/_root@r.example.com.json'],
  ];
  for (const [registry, namespace, target, file] of perTarget) {
    it(`maps ${registry}/${namespace} mirrored to ${target} to ${file} and back`, () => {
      assert.equal(metadataFilePath(registry, namespace, target), file);
      assert.deepEqual(parseMetadataFilePath(file), { registry, namespace, target });
    });
  }
  it('refuses a target that is not a registry location', () => {
    for (const target of ['../x', 'gcr.io/../x', 'gcr.io/a@b', 'gcr.io/a+b']) {
      assert.throws(() => metadataFilePath('gcr.io', 'ns', target), (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE'), target);
    }
  });

  const hostile: Array<[string, string]> = [
    ['gcr.io', '../x'],
    ['gcr.io', 'a/../../x'],
    ['gcr.io', '/etc/passwd'],
    ['gcr.io', 'a//b'],
    ['..', 'x'],
    ['a/b', 'x'],
    ['gcr.io/..', 'x'],
    ['', 'x'],
    ['gcr.io', '_root'],
  ];
  for (const [registry, namespace] of hostile) {
    it(`refuses registry ${JSON.stringify(registry)} with namespace ${JSON.stringify(namespace)}`, () => {
      assert.throws(() => metadataFilePath(registry, namespace), (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE'));
    });
  }

  const notOurs = [
    'README.md',
    'metadata/gcr.io.json',
    'metadata/gcr.io/x.txt',
    'metadata/gcr.io/../x.json',
    'metadata/gcr.io/.x.json.123.tmp',
    'metadata/a:b/x.json',
    'metadata/Gcr.io/x.json',
    'other/gcr.io/x.json',
    'metadata/gcr.io/x@a@b.json',
    'metadata/gcr.io/x@.json',
    'metadata/gcr.io/x@A.io.json',
    'metadata/gcr.io/x@r.io+..json',
  ];
  for (const file of notOurs) {
    it(`does not take ${file} for a metadata file`, () => {
      assert.equal(parseMetadataFilePath(file), undefined);
    });
  }
});
