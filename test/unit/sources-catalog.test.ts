import assert from 'node:assert/strict';
import { GcrsyncError, isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { inNamespace, listCatalog, listRepositories } from '../../src/sources/catalog.js';
import type { Listing } from '../../src/sources/source.js';
import { FakeListingClient, digest } from './sources-fake-client.js';

const registry = '127.0.0.1:5000';
const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);

describe('inNamespace', () => {
  const cases: Array<[string, string, boolean]> = [
    ['ns/a', 'ns', true],
    ['ns', 'ns', true],
    ['ns/a/b', 'ns/a', true],
    ['nsx/a', 'ns', false],
    ['ns-a', 'ns', false],
    ['other/ns', 'ns', false],
    ['anything/at/all', '', true],
  ];
  for (const [repository, namespace, expected] of cases) {
    it(`${JSON.stringify(repository)} in ${JSON.stringify(namespace)} is ${expected}`, () => assert.equal(inNamespace(repository, namespace), expected));
  }
});

describe('listCatalog', () => {
  const nodes = {
    ns: { tags: ['root'] },
    'ns/a': { tags: ['v1', 'v2'] },
    'ns/b/c': { tags: ['v3'] },
    'nsx/d': { tags: ['v4'] },
    'other/e': { tags: ['v5'] },
  };
  const heads = {
    'ns:root': digest(10),
    'ns/a:v1': digest(1),
    'ns/a:v2': digest(2),
    'ns/b/c:v3': digest(3),
    'nsx/d:v4': digest(4),
    'other/e:v5': digest(5),
  };
  const catalog = ['nsx/d', 'ns/b/c', 'other/e', 'ns/a', 'ns'];

  it('keeps only repositories under the namespace prefix, the namespace itself included', async () => {
    const client = new FakeListingClient(nodes, { heads, catalog });
    const listing = await listCatalog(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns:root@${digest(10)}`, `ns/a:v1@${digest(1)}`, `ns/a:v2@${digest(2)}`, `ns/b/c:v3@${digest(3)}`]);
    assert.deepEqual(listing.problems, []);
    assert.equal(client.count('head'), 4, 'one HEAD per tag');
    assert.ok(!client.requests.some((r) => r.includes('nsx') || r.includes('other')), 'nothing outside the namespace was requested');
  });

  it('takes everything when the namespace is empty', async () => {
    const client = new FakeListingClient(nodes, { heads, catalog });
    const listing = await listCatalog(client, { registry, namespace: '' }, { signal: UNINTERRUPTED });
    assert.equal(listing.tags.length, 6);
    assert.deepEqual(listing.tags.map((t) => t.repository), ['ns', 'ns/a', 'ns/a', 'ns/b/c', 'nsx/d', 'other/e']);
  });

  it('refuses hostile repository names and tags without requesting them', async () => {
    const client = new FakeListingClient(
      { 'ns/ok': { tags: ['v1', 'bad/tag', '..'] } },
      { heads: { 'ns/ok:v1': digest(1) }, catalog: ['ns/../etc', 'ns/UP', 'ns//x', 'ns/ok', 'ns/é', 'ns/' + 'a'.repeat(300)] },
    );
    const listing = await listCatalog(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/ok:v1@${digest(1)}`]);
    assert.equal(listing.problems.length, 7);
    assert.ok(listing.problems.every((p) => isGcrsyncError(p.error, 'HOSTILE_RESPONSE')));
    assert.deepEqual([...client.requests].sort(), ['catalog', 'head ns/ok:v1', 'tags ns/ok']);
  });

  it('records a repository whose tags cannot be listed and goes on', async () => {
    const client = new FakeListingClient(
      { 'ns/a': { fail: new GcrsyncError('AUTH', 'denied', { status: 403 }) }, 'ns/b': { tags: ['v1'] } },
      { heads: { 'ns/b:v1': digest(1) }, catalog: ['ns/a', 'ns/b'] },
    );
    const listing = await listCatalog(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/b:v1@${digest(1)}`]);
    assert.deepEqual(listing.problems.map((p) => [p.subject, p.error.code]), [['ns/a', 'AUTH']]);
  });

  it('throws SOURCE_UNREACHABLE when the catalog cannot be read', async () => {
    const client = new FakeListingClient({}, { catalog: new GcrsyncError('AUTH', 'catalog needs a token', { status: 401 }) });
    await assert.rejects(listCatalog(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes(`${registry}/ns`) && /catalog needs a token/.test(error.message),
    );
  });

  it('bounds tag listings and HEADs by queryLimit', async () => {
    const repos = Array.from({ length: 12 }, (_, i) => `ns/r${i}`);
    const client = new FakeListingClient(
      Object.fromEntries(repos.map((r) => [r, { tags: ['a', 'b', 'c'] }])),
      { heads: Object.fromEntries(repos.flatMap((r, i) => ['a', 'b', 'c'].map((t, j) => [`${r}:${t}`, digest(i * 3 + j)]))), catalog: repos, delayMs: 2 },
    );
    const listing = await listCatalog(client, { registry, namespace: 'ns' }, { queryLimit: 5, signal: UNINTERRUPTED });
    assert.equal(listing.tags.length, 36);
    assert.equal(client.maxInFlight, 5);
  });
});

describe('listRepositories', () => {
  it('lists named repositories with tags/list and HEADs', async () => {
    const client = new FakeListingClient({ 'owner/app': { tags: ['v1'] } }, { heads: { 'owner/app:v1': digest(7) } });
    const listing = await listRepositories(client, 'ghcr.io', ['owner/app', 'owner/app'], { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`owner/app:v1@${digest(7)}`]);
    assert.deepEqual(client.requests, ['tags owner/app', 'head owner/app:v1']);
  });
});
