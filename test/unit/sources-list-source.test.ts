import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { isQuirkTag, listSource, type SourceSpec } from '../../src/sources/index.js';
import type { Listing } from '../../src/sources/source.js';
import { FakeListingClient, digest } from './sources-fake-client.js';

const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);
const problems = (listing: Listing) => listing.problems.map((p) => `${p.subject} ${p.error.code}`);
const HEX = 'ab'.repeat(32);

describe('isQuirkTag', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    [`sha256:${HEX}`, true],
    [`sha256__${HEX}`, true],
    [`sha256-${HEX}`, false],
    [`sha512-${HEX}${HEX}`, false],
    [`sha256-${HEX}.sig`, false],
    [`sha256-${HEX}.att`, false],
    ['sha256', false],
    ['latest', false],
    ['v1.2.3', false],
    [HEX, false],
  ];
  for (const [tag, expected] of cases) it(`${JSON.stringify(tag.length > 24 ? `${tag.slice(0, 24)}…` : tag)} → ${expected}`, () => assert.equal(isQuirkTag(tag), expected));
});

describe('listSource', () => {
  // no test here reaches the web APIs; the HTTP client is only handed through
  const http = new HttpClient();
  after(() => http.close());

  it('lists named tags with one HEAD each, and a bare repository in full without its quirk tags', async () => {
    const client = new FakeListingClient(
      { 'library/redis': { plain: true, tags: ['7', '6', '', `sha256:${HEX}`, `sha256__${HEX}`] } },
      {
        heads: {
          'library/nginx:1.25': digest(1),
          'library/nginx:1.27': digest(2),
          'library/redis:7': digest(3),
          'library/redis:6': digest(4),
        },
      },
    );
    const spec: SourceSpec = {
      kind: 'images',
      registry: 'docker.io',
      namespace: 'library',
      images: [
        { repository: 'nginx', tags: [{ tag: '1.25' }, { tag: '1.27', digest: digest(2) }, { tag: '1.29' }, { tag: '1.26', digest: digest(9) }] },
        { repository: 'redis' },
      ],
    };
    const listing = await listSource(client, http, spec, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [
      `library/nginx:1.25@${digest(1)}`,
      `library/nginx:1.27@${digest(2)}`,
      `library/redis:6@${digest(4)}`,
      `library/redis:7@${digest(3)}`,
    ]);
    assert.deepEqual(problems(listing), ['library/nginx:1.26 NOT_FOUND', 'library/nginx:1.29 NOT_FOUND']);
    assert.equal(client.count('tags'), 1, 'named tags need no tags/list');
    assert.equal(client.count('head'), 6, 'quirk tags cost no HEAD');
  });

  it('refuses to copy a pinned tag that moved', async () => {
    const client = new FakeListingClient({}, { heads: { 'calico/node:v3.27.0': digest(5) } });
    const listing = await listSource(client, http, {
      kind: 'images',
      registry: 'quay.io',
      namespace: 'calico',
      images: [{ repository: 'node', tags: [{ tag: 'v3.27.0', digest: digest(6) }] }],
    }, { signal: UNINTERRUPTED });
    assert.deepEqual(listing.tags, []);
    assert.deepEqual(problems(listing), ['calico/node:v3.27.0 DIGEST_MISMATCH']);
    assert.match(listing.problems[0]!.error.message, new RegExp(`now points at ${digest(5)}, the image list pins ${digest(6)}`));
  });

  it('lists named repositories by their full path under the namespace', async () => {
    const client = new FakeListingClient(
      { 'owner/app': { plain: true, tags: ['v1'] }, 'owner/tools/cli': { plain: true, tags: ['v2', ''] } },
      { heads: { 'owner/app:v1': digest(1), 'owner/tools/cli:v2': digest(2) } },
    );
    const listing = await listSource(client, http, { kind: 'repositories', registry: 'ghcr.io', namespace: 'owner', repositories: ['tools/cli', 'app', 'app'] }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`owner/app:v1@${digest(1)}`, `owner/tools/cli:v2@${digest(2)}`]);
    assert.deepEqual(listing.problems, []);
    assert.equal(client.count('catalog'), 0);
  });

  it('walks a Google host with quirk tags taken out of the tags and the manifest map, and the referrers fallback tag kept', async () => {
    const client = new FakeListingClient({
      ns: { child: ['app'] },
      'ns/app': { manifest: { [digest(1)]: ['v1', `sha256-${HEX}`], [digest(2)]: [`sha256__${HEX}`] }, tags: ['v1', '', `sha256-${HEX}`, `sha256__${HEX}`] },
    });
    const listing = await listSource(client, http, { kind: 'namespace', registry: 'gcr.io', namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/app:sha256-${HEX}@${digest(1)}`, `ns/app:v1@${digest(1)}`]);
    assert.deepEqual(listing.problems, []);
    assert.equal(client.count('head'), 0);
  });

  it('probes any other host, then falls back to its catalog', async () => {
    const client = new FakeListingClient({ 'ns/a': { plain: true, tags: ['v1'] } }, { catalog: ['ns/a', 'other/b'], heads: { 'ns/a:v1': digest(1) } });
    const listing = await listSource(client, http, { kind: 'namespace', registry: '127.0.0.1:5000', namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a:v1@${digest(1)}`]);
    assert.deepEqual(client.requests.slice(0, 2), ['google ns', 'catalog']);
  });

  it('goes straight to the catalog when told so', async () => {
    const client = new FakeListingClient({ 'ns/a': { plain: true, tags: ['v1'] } }, { catalog: ['ns/a'], heads: { 'ns/a:v1': digest(1) } });
    const listing = await listSource(client, http, { kind: 'namespace', registry: '127.0.0.1:5000', namespace: 'ns', api: 'catalog' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a:v1@${digest(1)}`]);
    assert.equal(client.count('google'), 0);
  });

  it('refuses a spec it cannot list before sending anything', async () => {
    const client = new FakeListingClient({});
    await assert.rejects(listSource(client, http, { kind: 'namespace', registry: 'ghcr.io', namespace: 'owner' }, { signal: UNINTERRUPTED }), (e: unknown) => isGcrsyncError(e, 'CONFIG'));
    await assert.rejects(
      listSource(client, http, { kind: 'namespace', registry: 'docker.io', namespace: 'library' }, { dockerHubApi: 'not a url', signal: UNINTERRUPTED }),
      (e: unknown) => isGcrsyncError(e, 'USAGE') && /Docker Hub API/.test(e.message),
    );
    assert.deepEqual(client.requests, []);
  });
});
