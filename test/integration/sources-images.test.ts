import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { groupByNamespace, listSource, loadImageList, type SourceSpec } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { apiFront, NO_CATALOG, type ApiFront } from '../support/api-front.js';
import { pushTestImage, tagManifest } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);
const problems = (listing: Listing) => listing.problems.map((p) => `${p.subject} ${p.error.code}`);
const MOVED_PIN = `sha256:${'0'.repeat(64)}`;

/**
 * Image lists and named repositories, the sources for registries that cannot enumerate (ghcr.io): a real
 * registry behind a front that, like ghcr.io, has no usable `_catalog`.
 */
describe('image list and repository list sources against a real registry without a catalog', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  let ghcr: ApiFront;
  const digests = new Map<string, string>();

  before(async () => {
    registry = await startRegistry({ auth: 'token', anonymousPull: true });
    http = new HttpClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } });
    client = new RegistryClient({ http, keychain: { resolve: async () => undefined } });
    ghcr = await apiFront('ghcr front', registry, { route: (_req, url) => (url.pathname === '/v2/_catalog' ? NO_CATALOG : undefined) });
    for (const [repository, tag] of [
      ['lib/nginx', '1.25'],
      ['lib/nginx', '1.27'],
      ['lib/redis', '7'],
      ['lib/redis', '6'],
      ['calico/node', 'v3.27.0'],
      ['pause', '3.9'],
      ['pause', '3.10'],
      ['owner/app', 'v1'],
      ['owner/tools/cli', 'v2'],
    ] as const) {
      digests.set(`${repository}:${tag}`, (await pushTestImage(registry, repository, tag)).digest);
    }
    digests.set('calico/node:v3.28.0', (await pushTestImage(registry, 'calico/node', 'v3.28.0', { platforms: ['linux/amd64', 'linux/arm64'] })).digest);
    digests.set('owner/app:latest', await tagManifest(registry, 'owner/app', 'v1', 'latest'));
    // Artifactory's quirk seen in tags/list: a digest-shaped tag is skipped, never mirrored (the OCI referrers
    // fallback tag sha256-<hex> is not a quirk: it travels with its image)
    await tagManifest(registry, 'calico/node', 'v3.27.0', `sha256__${'cd'.repeat(32)}`);
  });

  after(async () => {
    await ghcr?.stop();
    await http?.close();
    await registry?.stop();
  });

  const line = (key: string) => `${key}@${digests.get(key)!}`;

  it('lists an image list file per namespace: named tags exactly, bare repositories in full, bad lines as problems', async () => {
    const dir = await tempDir('image-list');
    const file = join(dir, 'required-images.txt');
    const host = ghcr.host;
    await writeFile(
      file,
      [
        '# images the cluster needs',
        `${host}/lib/nginx:1.25`,
        `${host}/lib/nginx:1.25   # listed twice, copied once`,
        `${host}/lib/redis:7@${digests.get('lib/redis:7')!}`,
        `${host}/lib/redis:6@${MOVED_PIN}`,
        `${host}/lib/missing:1.0`,
        '',
        `${host}/calico/node`,
        `\t${host}/pause:3.9\r`,
      ].join('\n'),
    );
    const groups = groupByNamespace(await loadImageList(file, UNINTERRUPTED));
    assert.deepEqual(
      groups.map((g) => `${g.registry}/${g.namespace}`),
      [`${host}/`, `${host}/calico`, `${host}/lib`],
    );

    const listings = await Promise.all(groups.map((group) => listSource(client, http, group, { queryLimit: 3, signal: UNINTERRUPTED })));
    const [root, calico, lib] = listings as [Listing, Listing, Listing];
    assert.deepEqual(pairs(root), [line('pause:3.9')]);
    assert.deepEqual(pairs(calico), [line('calico/node:v3.27.0'), line('calico/node:v3.28.0')]);
    assert.deepEqual(pairs(lib), [line('lib/nginx:1.25'), line('lib/redis:7')]);
    assert.deepEqual([...problems(root), ...problems(calico)], []);
    assert.deepEqual(problems(lib), ['lib/missing:1.0 NOT_FOUND', 'lib/redis:6 DIGEST_MISMATCH']);
    assert.match(lib.problems[1]!.error.message, new RegExp(`pins ${MOVED_PIN}`));

    // named tags cost one HEAD each and no tags/list; nothing asked for the quirk tag or the catalog
    const asked = ghcr.requests;
    assert.ok(!asked.some((r) => r.includes('/lib/nginx/tags/list') || r.includes('/pause/tags/list')), asked.join('\n'));
    assert.ok(asked.some((r) => r.startsWith('GET /v2/calico/node/tags/list')));
    assert.ok(!asked.some((r) => r.includes('_catalog') || r.includes('sha256__cdcd')), asked.join('\n'));
  });

  it('lists named repositories under a namespace, nested ones included', async () => {
    const spec: SourceSpec = { kind: 'repositories', registry: ghcr.host, namespace: 'owner', repositories: ['app', 'tools/cli', 'gone'] };
    const listing = await listSource(client, http, spec, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [line('owner/app:latest'), line('owner/app:v1'), line('owner/tools/cli:v2')]);
    assert.deepEqual(problems(listing), ['owner/gone NOT_FOUND']);
  });
});
