import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { MEDIA_TYPES, pushTestImage, tagManifest, type RegistryEndpoint } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { freePort } from '../support/temp.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);

describe('source listers against a real registry', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let endpoint: RegistryEndpoint;
  let http: HttpClient;
  let client: RegistryClient;
  const fronts: GcrFront[] = [];
  /** `repository:tag` → digest of everything pushed under the `walk` namespace */
  const pushed = new Map<string, string>();

  const front = async () => {
    const f = await gcrFront(endpoint);
    fronts.push(f);
    return f;
  };
  /** what the listing must hold, in its documented (repository, tag) order */
  const expected = (filter: (key: string) => boolean) =>
    [...pushed]
      .filter(([key]) => filter(key))
      .map(([key, digest]) => ({ pair: key.split(':') as [string, string], line: `${key}@${digest}` }))
      .sort((a, b) => (a.pair[0] === b.pair[0] ? (a.pair[1] < b.pair[1] ? -1 : 1) : a.pair[0] < b.pair[0] ? -1 : 1))
      .map((entry) => entry.line);

  before(async () => {
    registry = await startRegistry();
    endpoint = { url: registry.url };
    // retries would only slow the failure cases down; nothing here is flaky
    http = new HttpClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } });
    client = new RegistryClient({ http, keychain: { resolve: async () => undefined } });
    const push = async (repository: string, tag: string, options: Parameters<typeof pushTestImage>[3] = {}) => {
      const image = await pushTestImage(endpoint, repository, tag, options);
      pushed.set(`${repository}:${tag}`, image.digest);
      return image;
    };
    await push('walk/app', 'v1');
    await push('walk/app', 'v2');
    pushed.set('walk/app:latest', await tagManifest(endpoint, 'walk/app', 'v1', 'latest'));
    // walk/app/sub is an empty intermediate level between walk/app and walk/app/sub/deep
    await push('walk/app/sub/deep', '1.0');
    await push('walk/tools', 'multi', { platforms: ['linux/amd64', 'linux/arm64'], format: 'oci' });
    await push('walkx/trap', 'v1');
    await push('other/x', 'v1');
  });

  after(async () => {
    for (const f of fronts) await f.stop();
    await http?.close();
    await registry?.stop();
  });

  it('walks nested repositories through the gcr listing extension with the pushed digests and no manifest HEADs', async () => {
    const f = await front();
    const listing = await listNamespace(client, { registry: f.host, namespace: 'walk' }, { queryLimit: 4, signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems, []);
    assert.deepEqual(pairs(listing), expected((key) => key.startsWith('walk/')));
    assert.equal(pushed.get('walk/app:latest'), pushed.get('walk/app:v1'));
    const multi = listing.tags.find((t) => t.repository === 'walk/tools');
    assert.equal(multi?.mediaType, MEDIA_TYPES.ociIndex);
    assert.deepEqual(f.requests.filter((r) => r.startsWith('HEAD')), [], 'digests came from the manifest map');
    assert.ok(f.requests.includes('GET /v2/walk/app/sub/tags/list?n=10000'), f.requests.join('\n'));
    assert.ok(!f.requests.some((r) => r.includes('_catalog')));
  });

  it('lists a namespace root that is itself a repository, with its children', async () => {
    const f = await front();
    const listing = await listNamespace(client, { registry: f.host, namespace: 'walk/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems, []);
    assert.deepEqual(pairs(listing), expected((key) => key.startsWith('walk/app:') || key.startsWith('walk/app/')));
  });

  it('falls back to the catalog on a plain registry, keeping only the namespace prefix', async () => {
    const listing = await listNamespace(client, { registry: registry.host, namespace: 'walk' }, { queryLimit: 3, signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems, []);
    assert.deepEqual(pairs(listing), expected((key) => key.startsWith('walk/')));
    assert.ok(!listing.tags.some((t) => t.repository.startsWith('walkx') || t.repository.startsWith('other')));
  });

  it('lists the whole registry through the catalog when the namespace is empty', async () => {
    const listing = await listNamespace(client, { registry: registry.host, namespace: '' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), expected(() => true));
  });

  it('refuses hostile children from the front and never requests them', async () => {
    const f = await front();
    f.inject('/v2/walk/tags/list', { body: { name: 'walk', child: ['app', '..', 'a/b', 'Evil', ''], manifest: {}, tags: [] } });
    const listing = await listNamespace(client, { registry: f.host, namespace: 'walk' }, { signal: UNINTERRUPTED });
    assert.deepEqual(
      listing.problems.map((p) => [p.subject, p.error.code]),
      [['walk', 'HOSTILE_RESPONSE'], ['walk', 'HOSTILE_RESPONSE'], ['walk', 'HOSTILE_RESPONSE'], ['walk', 'HOSTILE_RESPONSE']],
    );
    assert.deepEqual(pairs(listing), expected((key) => key.startsWith('walk/app:') || key.startsWith('walk/app/')));
    const asked = f.requests.map((r) => r.split(' ')[1]!.split('?')[0]!);
    assert.ok(!asked.some((p) => p.includes('..') || p.includes('Evil') || p.includes('/a/b/') || p.includes('//')), asked.join('\n'));
  });

  it('keeps listing when one child fails, and reports it', async () => {
    const f = await front();
    f.inject('/v2/walk/tools/tags/list', { status: 500, body: { errors: [{ code: 'UNKNOWN', message: 'backend exploded' }] } });
    const listing = await listNamespace(client, { registry: f.host, namespace: 'walk' }, { signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems.map((p) => [p.subject, p.error.code]), [['walk/tools', 'REGISTRY']]);
    assert.match(listing.problems[0]!.error.message, /500/);
    assert.deepEqual(pairs(listing), expected((key) => key.startsWith('walk/') && !key.startsWith('walk/tools')));
  });

  it('throws SOURCE_UNREACHABLE when nothing listens at the source', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    await assert.rejects(listNamespace(client, { registry: host, namespace: 'walk' }, { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes(`${host}/walk`),
    );
  });

  it('throws SOURCE_UNREACHABLE when the gcr front cannot list the namespace root', async () => {
    const f = await front();
    f.inject('/v2/walk/tags/list', { status: 503, body: 'down for maintenance' });
    f.inject('/v2/_catalog', { status: 503, body: 'down for maintenance' });
    await assert.rejects(listNamespace(client, { registry: f.host, namespace: 'walk' }, { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes(`${f.host}/walk`),
    );
  });
});
