import assert from 'node:assert/strict';
import { GcrsyncError, isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { isGoogleHost, listNamespace } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { FakeListingClient, digest } from './sources-fake-client.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);

describe('isGoogleHost', () => {
  const cases: Array<[string, boolean]> = [
    ['gcr.io', true],
    ['eu.gcr.io', true],
    ['k8s.gcr.io', true],
    ['registry.k8s.io', true],
    ['us-central1-docker.pkg.dev', true],
    ['europe-docker.pkg.dev', true],
    ['GCR.IO', true],
    ['quay.io', false],
    ['docker.io', false],
    ['127.0.0.1:5000', false],
    ['evilgcr.io', false],
    ['gcr.io.example.com', false],
  ];
  for (const [host, expected] of cases) it(`${host} → ${expected}`, () => assert.equal(isGoogleHost(host), expected));
});

describe('listNamespace', () => {
  it('walks a Google host without touching the catalog', async () => {
    const client = new FakeListingClient(
      { ns: { child: ['b', 'a'] }, 'ns/a': { manifest: { [digest(1)]: ['z', 'a'] } }, 'ns/b': { manifest: { [digest(2)]: ['v1'] } } },
      { catalog: ['ns/a'] },
    );
    const listing = await listNamespace(client, { registry: 'gcr.io', namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a:a@${digest(1)}`, `ns/a:z@${digest(1)}`, `ns/b:v1@${digest(2)}`]);
    assert.equal(client.count('catalog'), 0);
  });

  it('walks any registry that answers with the extension (a gcr front on loopback)', async () => {
    const client = new FakeListingClient({ ns: { child: ['a'] }, 'ns/a': { manifest: { [digest(1)]: ['v1'] } } }, { catalog: [] });
    const listing = await listNamespace(client, { registry: '127.0.0.1:5000', namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a:v1@${digest(1)}`]);
    assert.equal(client.count('catalog'), 0);
    assert.equal(client.count('head'), 0);
    // the probe's answer is the walk's first answer: the namespace is listed once, not once more to start the walk
    assert.deepEqual(client.requests, ['google ns', 'google ns/a']);
  });

  it('falls back to the catalog when the namespace has no listing of its own', async () => {
    const client = new FakeListingClient(
      { 'ns/b': { plain: true, tags: ['v2', 'v1'] }, 'ns/a': { plain: true, tags: ['v1'] } },
      { catalog: ['ns/b', 'ns/a', 'other/x'], heads: { 'ns/a:v1': digest(1), 'ns/b:v1': digest(2), 'ns/b:v2': digest(3) } },
    );
    const listing = await listNamespace(client, { registry: '127.0.0.1:5000', namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a:v1@${digest(1)}`, `ns/b:v1@${digest(2)}`, `ns/b:v2@${digest(3)}`]);
    assert.equal(client.requests[0], 'google ns');
    assert.equal(client.count('catalog'), 1);
  });

  it('lists a namespace that is one repository when the registry has no catalog', async () => {
    const client = new FakeListingClient(
      { 'owner/app': { plain: true, tags: ['v1'] } },
      { catalog: new GcrsyncError('NOT_FOUND', '_catalog is not implemented', { status: 404 }), heads: { 'owner/app:v1': digest(4) } },
    );
    const listing = await listNamespace(client, { registry: 'ghcr.io', namespace: 'owner/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`owner/app:v1@${digest(4)}`]);
  });

  it('throws SOURCE_UNREACHABLE when neither the namespace nor the catalog can be listed', async () => {
    const client = new FakeListingClient({}, { catalog: new GcrsyncError('AUTH', 'unauthorized', { status: 401 }) });
    await assert.rejects(listNamespace(client, { registry: 'quay.io', namespace: 'ns' }, { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes('quay.io/ns'),
    );
  });

  it('throws SOURCE_UNREACHABLE at once when nothing answers, without trying the catalog', async () => {
    const client = new FakeListingClient({}, { unreachable: true });
    await assert.rejects(listNamespace(client, { registry: '127.0.0.1:1', namespace: 'ns' }, { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes('127.0.0.1:1/ns'),
    );
    assert.deepEqual(client.requests, ['google ns']);
  });

  it('throws SOURCE_UNREACHABLE for an unreachable Google host', async () => {
    const client = new FakeListingClient({}, { unreachable: true });
    await assert.rejects(listNamespace(client, { registry: 'gcr.io', namespace: 'ns' }, { signal: UNINTERRUPTED }), (error: unknown) => isGcrsyncError(error, 'SOURCE_UNREACHABLE'));
  });
});
