import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/log.js';
import { runSync } from '../../src/reconcile/run.js';
import type { RunDeps } from '../../src/reconcile/run-types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listSource, rateLimitStop, type NamespaceSpec } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { openMetadataRepo, type MetadataRepo } from '../../src/store/metadata-repo.js';
import { createRegistryTransport } from '../../src/transports/registry.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { hubFront, type HubFront } from '../support/hub-front.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);

describe('Docker Hub source against a real registry behind a Hub API front', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  const fronts: HubFront[] = [];
  const remotes: BareRemote[] = [];
  /** `repository:tag@digest` of the `library` namespace, sorted */
  let library: string[] = [];

  const front = async (options: Parameters<typeof hubFront>[1] = {}) => {
    const f = await hubFront(registry, options);
    fronts.push(f);
    return f;
  };
  const spec = (f: HubFront, namespace = 'library'): NamespaceSpec => ({ kind: 'namespace', registry: f.host, namespace, api: 'docker-hub' });

  before(async () => {
    // Hub serves public images with anonymous bearer tokens
    registry = await startRegistry({ auth: 'token', anonymousPull: true });
    http = new HttpClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } });
    const credentials = registry.credentials!;
    // the keychain of a real run: credentials for the target only, anonymous at the source
    client = new RegistryClient({ http, keychain: { resolve: async (host) => (host === registry.host ? credentials : undefined) } });
    const found: string[] = [];
    for (const [repository, tag] of [
      ['library/nginx', '1.25'],
      ['library/nginx', '1.27'],
      ['library/redis', '7'],
      ['library/alpine', '3.19'],
      ['library/busybox', '1.36'],
      ['library/postgres', '16'],
    ] as const) {
      const image = await pushTestImage(registry, repository, tag);
      found.push(`${repository}:${tag}@${image.digest}`);
    }
    const multi = await pushTestImage(registry, 'library/alpine', '3.20', { platforms: ['linux/amd64', 'linux/arm64'] });
    found.push(`library/alpine:3.20@${multi.digest}`);
    await pushTestImage(registry, 'libraryx/not-this', 'v1');
    library = found.sort();
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) await pushTestImage(registry, `budget/${name}`, 'v1');
  });

  after(async () => {
    for (const f of fronts) await f.stop();
    for (const r of remotes) await r.cleanup();
    await http?.close();
    await registry?.stop();
  });

  it('lists a namespace through the web API, following the absolute next URL page by page', async () => {
    const f = await front({ maxPageSize: 2 });
    const listing = await listSource(client, http, spec(f), { dockerHubApi: f.url, queryLimit: 4, signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems, []);
    assert.deepEqual(pairs(listing), library);
    const apiCalls = f.requests.filter((r) => r.startsWith('GET /v2/namespaces/'));
    assert.deepEqual(apiCalls.slice(0, 3), [
      'GET /v2/namespaces/library/repositories?page_size=100',
      'GET /v2/namespaces/library/repositories?page=2&page_size=2',
      'GET /v2/namespaces/library/repositories?page=3&page_size=2',
    ]);
    // tags, digests and platform images from Hub's tags API, one request per repository
    assert.deepEqual(apiCalls.slice(3).sort(), [
      'GET /v2/namespaces/library/repositories/alpine/tags?page_size=100',
      'GET /v2/namespaces/library/repositories/busybox/tags?page_size=100',
      'GET /v2/namespaces/library/repositories/nginx/tags?page_size=100',
      'GET /v2/namespaces/library/repositories/postgres/tags?page_size=100',
      'GET /v2/namespaces/library/repositories/redis/tags?page_size=100',
    ]);
    const multiArch = listing.tags.find((t) => t.repository === 'library/alpine' && t.tag === '3.20');
    assert.deepEqual([multiArch?.mediaType, multiArch?.children], ['application/vnd.docker.distribution.manifest.list.v2+json', 2]);
    assert.equal(listing.tags.find((t) => t.tag === '3.19')?.children, undefined);
    assert.ok(!f.requests.some((r) => r.includes('_catalog') || r.includes('libraryx')), f.requests.join('\n'));
    assert.ok(!f.requests.some((r) => r.includes('/manifests/') || r.includes('/tags/list')), 'listing asks the registry nothing (no HEAD per tag)');
  });

  it('refuses a next URL that leaves the API host or drops TLS, before requesting it', async () => {
    const f = await front();
    const otherHost = `http://localhost:${f.host.split(':')[1]}/v2/namespaces/library/repositories?page=2`;
    f.inject('/v2/namespaces/library/repositories', { body: { count: 9, next: otherHost, previous: null, results: [{ name: 'nginx', namespace: 'library' }] } });
    await assert.rejects(listSource(client, http, spec(f), { dockerHubApi: f.url, signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && /leaves 127\.0\.0\.1/.test(error.message),
    );
    f.inject('/v2/namespaces/library/repositories', {
      body: { count: 9, next: 'http://hub.example.com/v2/namespaces/library/repositories?page=2', results: [{ name: 'nginx', namespace: 'library' }] },
    });
    await assert.rejects(listSource(client, http, spec(f), { dockerHubApi: f.url, signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && /plain http to hub\.example\.com/.test(error.message),
    );
    assert.equal(f.requests.filter((r) => r.includes('page=2')).length, 0, f.requests.join('\n'));
  });

  it('refuses hostile repository names from the API and lists the rest', async () => {
    const f = await front();
    f.inject('/v2/namespaces/library/repositories', {
      body: {
        count: 4,
        next: null,
        results: [
          { name: 'redis', namespace: 'library' },
          { name: '..', namespace: 'library' },
          { name: 'x y', namespace: 'library' },
          { name: 'nginx', namespace: 'someone-else' },
        ],
      },
    });
    const listing = await listSource(client, http, spec(f), { dockerHubApi: f.url, signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems.map((p) => p.error.code), ['HOSTILE_RESPONSE', 'HOSTILE_RESPONSE', 'HOSTILE_RESPONSE']);
    assert.deepEqual(pairs(listing), library.filter((line) => line.startsWith('library/redis:')));
  });

  it('throws SOURCE_UNREACHABLE for a namespace the API does not know', async () => {
    const f = await front();
    await assert.rejects(listSource(client, http, spec(f, 'no-such-user'), { dockerHubApi: f.url, signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes(`${f.host}/no-such-user`),
    );
  });

  it('stops starting images when the pull budget is spent, and commits what it copied', async () => {
    const pullLimit = 6;
    const reserve = 2;
    const f = await front({ pullLimit });
    const remote = await bareRemote();
    remotes.push(remote);
    const source = spec(f, 'budget');
    let metadata: MetadataRepo | undefined;
    try {
      metadata = await openMetadataRepo({ location: remote.url, retryDelayMs: 10, signal: UNINTERRUPTED });
      const deps: RunDeps = {
        logger: silentLogger,
        metadata,
        listSource: (_location, signal) => listSource(client, http, source, { dockerHubApi: f.url, signal }),
        headTarget: (repo, reference, signal) => client.headManifest(repo, reference, signal),
        createTransport: () => createRegistryTransport({ client }),
      };
      const stop = rateLimitStop(client, f.host, reserve);
      assert.equal(stop(), undefined, 'no budget is known before the first pull');
      const report = await runSync(deps, {
        source: { registry: f.host, namespace: 'budget' },
        target: { registry: registry.host, path: 'hub-mirror' },
        concurrency: 1,
        queryLimit: 4,
        dryRun: false,
        stopReason: stop,
        signal: UNINTERRUPTED,
      });

      const synced = report.outcomes.filter((o) => o.status === 'synced');
      const skipped = report.outcomes.filter((o) => o.status === 'skipped');
      // one at a time, and a single-platform copy spends one pull (its manifest GET; HEADs are free): the images
      // started while more than `reserve` pulls were left are copied, the rest are not started
      const shown = JSON.stringify(report.outcomes.map((o) => [o.source, o.status]));
      assert.equal(synced.length, pullLimit - reserve, shown);
      assert.equal(skipped.length, 6 - (pullLimit - reserve), shown);
      assert.equal(f.refused(), 0, 'no manifest GET ran into the limit');
      assert.ok(f.remaining() <= reserve, `stopped with ${f.remaining()} pulls left`);
      assert.equal(report.stoppedBecause, `${f.host} pull budget spent: ${f.remaining()} of ${pullLimit} left (reserve ${reserve})`);
      assert.equal(stop(), report.stoppedBecause);

      // what was copied is at the target and committed; what was skipped is neither
      assert.equal(report.commit?.committed, true);
      assert.equal(report.commit?.pushed, true);
      const committed = JSON.parse(await remote.show(metadata.metadataFile(f.host, 'budget'))) as { images: Record<string, Record<string, unknown>> };
      assert.deepEqual(Object.keys(committed.images).sort(), synced.map((o) => o.source.split('/').pop()!.split(':')[0]!).sort());
      for (const outcome of synced) assert.equal(await headDigest(registry, outcome.target.split('/').slice(1).join('/').split(':')[0]!, 'v1'), outcome.digest);
      for (const outcome of skipped) assert.equal(await headDigest(registry, outcome.target.split('/').slice(1).join('/').split(':')[0]!, 'v1'), undefined);
    } finally {
      await metadata?.close();
    }
  });
});
