import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listSource } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { pushTestImage, tagManifest } from '../support/images.js';
import { quayFront, type QuayFront } from '../support/quay-front.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);
const DIGEST_SHAPED = `sha256__${'ab'.repeat(32)}`;

describe('Quay source against a real registry behind a Quay API front', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  const fronts: QuayFront[] = [];
  /** `repository:tag@digest` of what the calico namespace must list, sorted */
  let calico: string[] = [];

  const front = async (options: Parameters<typeof quayFront>[1] = {}) => {
    const f = await quayFront(registry, options);
    fronts.push(f);
    return f;
  };
  const spec = (f: QuayFront, namespace = 'calico') => ({ kind: 'namespace' as const, registry: f.host, namespace, api: 'quay' as const });

  before(async () => {
    // quay.io hands out anonymous pull tokens for public repositories; so does this registry
    registry = await startRegistry({ auth: 'token', anonymousPull: true });
    http = new HttpClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } });
    client = new RegistryClient({ http, keychain: { resolve: async () => undefined } });
    const found = new Map<string, string>();
    for (const name of ['node', 'cni', 'kube-controllers', 'typha', 'apiserver']) {
      const image = await pushTestImage(registry, `calico/${name}`, 'v3.27.0');
      found.set(`calico/${name}:v3.27.0`, image.digest);
    }
    found.set('calico/node:latest', await tagManifest(registry, 'calico/node', 'v3.27.0', 'latest'));
    const multi = await pushTestImage(registry, 'calico/node', 'v3.28.0', { platforms: ['linux/amd64', 'linux/arm64'], format: 'oci' });
    found.set('calico/node:v3.28.0', multi.digest);
    // an Artifactory-style digest folder listed as a tag: skipped, not mirrored and not a problem
    await tagManifest(registry, 'calico/cni', 'v3.27.0', DIGEST_SHAPED);
    // Quay has no nested repositories; the API never lists this one, so neither does gcrsync
    await pushTestImage(registry, 'calico/deep/nested', 'v1');
    await pushTestImage(registry, 'calicox/other', 'v1');
    calico = [...found].map(([key, digest]) => `${key}@${digest}`).sort();
  });

  after(async () => {
    for (const f of fronts) await f.stop();
    await http?.close();
    await registry?.stop();
  });

  it('lists every public repository of the namespace through the API pages, with tags and digests from the registry', async () => {
    const f = await front({ pageSize: 2 });
    const listing = await listSource(client, http, spec(f), { queryLimit: 4, signal: UNINTERRUPTED });
    assert.deepEqual(listing.problems, []);
    assert.deepEqual(pairs(listing), calico);
    const apiCalls = f.requests.filter((r) => r.startsWith('GET /api/v1/repository'));
    assert.equal(apiCalls.length, 3, apiCalls.join('\n'));
    assert.ok(apiCalls.every((r) => r.includes('namespace=calico') && r.includes('public=true')));
    assert.ok(apiCalls.slice(1).every((r) => r.includes('next_page=')));
    assert.ok(!f.requests.some((r) => r.includes('_catalog') || r.includes('deep') || r.includes(DIGEST_SHAPED)), f.requests.join('\n'));
  });

  it('refuses hostile names and other namespaces in the API answer, and lists the rest', async () => {
    const f = await front();
    f.inject('/api/v1/repository', {
      body: {
        repositories: [
          { namespace: 'calico', name: 'node' },
          { namespace: 'calico', name: '../admin' },
          { namespace: 'calico', name: 'Evil' },
          { namespace: 'calico', name: 'a/b' },
          { namespace: 'calicox', name: 'other' },
          { namespace: 'calico', name: 42 },
        ],
      },
    });
    const listing = await listSource(client, http, spec(f), { signal: UNINTERRUPTED });
    assert.deepEqual(
      listing.problems.map((p) => p.error.code),
      ['HOSTILE_RESPONSE', 'HOSTILE_RESPONSE', 'HOSTILE_RESPONSE', 'HOSTILE_RESPONSE', 'HOSTILE_RESPONSE'],
    );
    assert.deepEqual(
      pairs(listing),
      calico.filter((line) => line.startsWith('calico/node:')),
    );
    const asked = f.requests.map((r) => r.split(' ')[1]!);
    assert.ok(!asked.some((p) => p.includes('admin') || p.includes('Evil') || p.includes('/a/b/') || p.includes('calicox')), asked.join('\n'));
  });

  it('throws SOURCE_UNREACHABLE when the cursor loops, and when the API answers garbage', async () => {
    const looping = await front();
    looping.inject('/api/v1/repository', { body: { repositories: [{ namespace: 'calico', name: 'node' }], next_page: 'same-cursor' } });
    await assert.rejects(listSource(client, http, spec(looping), { signal: UNINTERRUPTED }), (error: unknown) =>
      isGcrsyncError(error, 'SOURCE_UNREACHABLE') && /earlier page/.test(error.message),
    );
    const garbage = await front();
    garbage.inject('/api/v1/repository', { body: '<html>maintenance</html>' });
    await assert.rejects(listSource(client, http, spec(garbage), { signal: UNINTERRUPTED }), (error: unknown) => isGcrsyncError(error, 'SOURCE_UNREACHABLE'));
  });

  it('lists nothing, with no problem, for a namespace without public repositories', async () => {
    const f = await front();
    const listing = await listSource(client, http, spec(f, 'nobody'), { signal: UNINTERRUPTED });
    assert.deepEqual(listing, { tags: [], problems: [] });
  });
});
