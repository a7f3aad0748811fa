import assert from 'node:assert/strict';
import { isGcrsyncError } from '../../src/errors.js';
import { namespaceApiFor, repositoryPath, sourceLocation, validateSourceSpec, type NamespaceApi, type SourceSpec } from '../../src/sources/index.js';

describe('namespaceApiFor', () => {
  const cases: Array<[string, NamespaceApi | undefined, NamespaceApi | 'probe']> = [
    ['gcr.io', undefined, 'google'],
    ['k8s.gcr.io', undefined, 'google'],
    ['registry.k8s.io', undefined, 'google'],
    ['us-docker.pkg.dev', undefined, 'google'],
    ['quay.io', undefined, 'quay'],
    ['QUAY.IO', undefined, 'quay'],
    ['docker.io', undefined, 'docker-hub'],
    ['harbor.example.com', undefined, 'probe'],
    ['127.0.0.1:5000', undefined, 'probe'],
    ['quay.example.com', 'quay', 'quay'],
    ['127.0.0.1:5000', 'docker-hub', 'docker-hub'],
    ['quay.io', 'catalog', 'catalog'],
  ];
  for (const [registry, api, expected] of cases) {
    it(`${registry}${api ? ` (api ${api})` : ''} → ${expected}`, () => assert.equal(namespaceApiFor({ registry, ...(api && { api }) }), expected));
  }
});

describe('validateSourceSpec', () => {
  const good: Array<[string, SourceSpec]> = [
    ['a gcr.io namespace', { kind: 'namespace', registry: 'gcr.io', namespace: 'google-containers' }],
    ['a nested Artifact Registry namespace', { kind: 'namespace', registry: 'us-docker.pkg.dev', namespace: 'project/repo' }],
    ['a whole self-hosted registry', { kind: 'namespace', registry: '127.0.0.1:5000', namespace: '' }],
    ['a Quay organization', { kind: 'namespace', registry: 'quay.io', namespace: 'calico' }],
    ['Docker Hub official images', { kind: 'namespace', registry: 'docker.io', namespace: 'library' }],
    ['ghcr.io named repositories', { kind: 'repositories', registry: 'ghcr.io', namespace: 'owner', repositories: ['app', 'tools/cli'] }],
    ['an image group at a registry root', { kind: 'images', registry: 'registry.k8s.io', namespace: '', images: [{ repository: 'pause', tags: [{ tag: '3.9' }] }] }],
  ];
  for (const [name, spec] of good) it(`accepts ${name}`, () => assert.doesNotThrow(() => validateSourceSpec(spec)));

  const bad: Array<[string, SourceSpec, RegExp]> = [
    ['ghcr.io without repositories', { kind: 'namespace', registry: 'ghcr.io', namespace: 'owner' }, /cannot list a namespace; name its repositories/],
    ['a nested Quay namespace', { kind: 'namespace', registry: 'quay.io', namespace: 'a/b' }, /one path level/],
    ['all of Docker Hub', { kind: 'namespace', registry: 'docker.io', namespace: '' }, /one path level/],
    ['an uppercase namespace', { kind: 'namespace', registry: 'gcr.io', namespace: 'Google' }, /namespace is not a valid repository path/],
    ['a bad registry', { kind: 'namespace', registry: 'exa mple', namespace: 'x' }, /not a host\[:port\]/],
    ['an empty repository list', { kind: 'repositories', registry: 'ghcr.io', namespace: 'owner', repositories: [] }, /list is empty/],
    ['a climbing repository', { kind: 'repositories', registry: 'ghcr.io', namespace: 'owner', repositories: ['../x'] }, /"\.\.\/x" is not a valid repository path/],
    ['an empty image group', { kind: 'images', registry: 'docker.io', namespace: 'library', images: [] }, /image list is empty/],
    ['a bad tag in a group', { kind: 'images', registry: 'docker.io', namespace: 'library', images: [{ repository: 'nginx', tags: [{ tag: '-x' }] }] }, /tag "-x"/],
    [
      'a bad pin in a group',
      { kind: 'images', registry: 'docker.io', namespace: 'library', images: [{ repository: 'nginx', tags: [{ tag: '1', digest: 'sha256:zz' }] }] },
      /not algorithm:hex/,
    ],
  ];
  for (const [name, spec, message] of bad) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => validateSourceSpec(spec),
        (error: unknown) => isGcrsyncError(error, 'CONFIG') && message.test(error.message),
      ));
  }

  it('lets an explicit api override the host rule (a self-hosted Quay, a test front)', () => {
    assert.doesNotThrow(() => validateSourceSpec({ kind: 'namespace', registry: 'ghcr.io', namespace: 'owner', api: 'catalog' }));
  });
});

describe('repositoryPath and sourceLocation', () => {
  it('joins under a namespace and stands alone at the root', () => {
    assert.equal(repositoryPath('owner', 'tools/cli'), 'owner/tools/cli');
    assert.equal(repositoryPath('', 'pause'), 'pause');
  });
  it('names where the metadata of any kind of source lives', () => {
    assert.deepEqual(sourceLocation({ kind: 'repositories', registry: 'ghcr.io', namespace: 'owner', repositories: ['app'] }), { registry: 'ghcr.io', namespace: 'owner' });
  });
});
