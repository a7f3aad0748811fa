import assert from 'node:assert/strict';
import { GENERATED_MARKER, INDEX_PAGE, renderIndex } from '../../src/store/index-pages.js';
import { createLogger } from '../../src/log.js';
import { renderSite } from '../../src/site/render.js';
import { SITE_MANIFEST } from '../../src/store/site-files.js';
import { type MetadataChange, openMetadataRepo } from '../../src/store/metadata-repo.js';
import { applyUpdates, parseMetadata, serializeMetadata } from '../../src/store/schema.js';
import { type BareRemote, cloneWithIdentity, git, pushByHand, showExact } from '../support/git.js';
import { metadataRepoFixtures } from '../support/metadata-repos.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const GCR = 'metadata/gcr.io/google-containers.json';
const QUAY = 'metadata/quay.io/coreos.json';
const GCR_PAGE = 'metadata/gcr.io/google-containers.md';
const QUAY_PAGE = 'metadata/quay.io/coreos.md';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function put(file: string, source: string, entries: Array<[string, string, number]>): MetadataChange {
  const updates = entries.map(([repository, tag, n]) => ({
    repository,
    tag,
    record: { digest: digest(n), target: `mirror.example/m/${repository}:${tag}`, syncedAt: `2026-11-23T12:${String(n).padStart(2, '0')}:00.000Z` },
  }));
  return { file, update: (current) => applyUpdates(current, { source, target: 'mirror.example/m' }, updates) };
}

async function filesIn(remote: BareRemote, ref = 'main'): Promise<string[]> {
  return (await git(remote.path, 'ls-tree', '-r', '--name-only', ref, '--', 'metadata')).split('\n').filter(Boolean);
}

/** The files a commit changed, the site left out (`assertPagesMatchJson` checks it whole). */
async function changedIn(remote: BareRemote, ref = 'main'): Promise<string[]> {
  return (await changedWithSite(remote, ref)).filter((file) => !file.startsWith('site/'));
}

async function changedWithSite(remote: BareRemote, ref = 'main'): Promise<string[]> {
  return (await git(remote.path, 'show', '--format=', '--name-only', ref)).split('\n').filter(Boolean).sort();
}

/** The pages on the remote must be exactly what the renderer makes of the JSON on the remote. */
async function assertPagesMatchJson(remote: BareRemote): Promise<void> {
  const files = await filesIn(remote);
  const inputs = [];
  for (const file of files.filter((f) => f.endsWith('.json'))) inputs.push({ file, metadata: parseMetadata(await showExact(remote, file), file) });
  for (const page of renderIndex(inputs)) assert.equal(await showExact(remote, page.path), page.text, `${page.path} matches the JSON`);
  // the catalog too: exactly the files the renderer makes of the JSON and the CHANGELOG, plus its manifest
  const changelog = (await git(remote.path, 'ls-tree', '--name-only', 'main', '--', 'CHANGELOG.md')) === '' ? undefined : await showExact(remote, 'CHANGELOG.md');
  const site = renderSite(inputs, changelog);
  const committed = (await git(remote.path, 'ls-tree', '-r', '--name-only', 'main', '--', 'site')).split('\n').filter(Boolean);
  assert.deepEqual(committed, [...site.keys(), SITE_MANIFEST].map((path) => `site/${path}`).sort());
  for (const [path, text] of site) assert.equal(await showExact(remote, `site/${path}`), text, `site/${path} matches the JSON`);
}

describe('browse: index pages committed with the metadata (real git)', function () {
  this.timeout(60_000);
  const fixtures = metadataRepoFixtures();
  const { cleanups, remoteFor } = fixtures;
  // what the commands that commit do: the catalog is rendered into every commit
  const open: typeof fixtures.open = (remote, options = { signal: UNINTERRUPTED }) => fixtures.open(remote, { site: renderSite, ...options });

  it('puts metadata/README.md and the namespace page into the same commit as the JSON', async () => {
    const remote = await remoteFor();
    const repo = await open(remote);
    const result = await repo.commit({
      changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1], ['pause', '3.2', 2], ['sub/app', 'v1', 3]])],
      changelogSection: '## x\n',
      message: 'sync',
      signal: UNINTERRUPTED,
    });
    assert.equal(result.pushed, true);
    assert.deepEqual(await changedIn(remote), ['CHANGELOG.md', INDEX_PAGE, GCR, GCR_PAGE].sort());
    const site = (await changedWithSite(remote)).filter((file) => file.startsWith('site/'));
    for (const page of ['site/index.html', 'site/changes.html', 'site/feed.atom', 'site/r/gcr.io/google-containers/-/pause.html', 'site/r/gcr.io/google-containers/-/sub/app.html']) {
      assert.ok(site.includes(page), `${page} is in the commit`);
    }
    await assertPagesMatchJson(remote);
    const page = await showExact(remote, GCR_PAGE);
    assert.ok(page.startsWith(GENERATED_MARKER));
    assert.match(page, /`docker pull mirror\.example\/m\/sub\/app:v1`/);
    assert.match(await showExact(remote, INDEX_PAGE), /\| \[gcr\.io\/google-containers\]\(gcr\.io\/google-containers\.md\) \| `mirror\.example\/m` \| 2 \| 3 \| 2026-11-23 12:03 UTC \|/);

    // the same content again: no commit, pages untouched
    const head = await remote.head();
    const again = await repo.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1]])], message: 'no-op', signal: UNINTERRUPTED });
    assert.equal(again.committed, false);
    assert.equal(await remote.head(), head);

    // a new tag rewrites its repository's page and what counts it, not the other repositories' pages
    await repo.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.3', 4]])], message: 'one more', signal: UNINTERRUPTED });
    const touched = (await changedWithSite(remote)).filter((file) => file.startsWith('site/'));
    assert.ok(touched.includes('site/r/gcr.io/google-containers/-/pause.html'));
    assert.ok(!touched.includes('site/r/gcr.io/google-containers/-/sub/app.html'));
    assert.ok(!touched.includes('site/assets/site.css'));
    await assertPagesMatchJson(remote);
  });

  it('re-renders the pages after a rejected push is re-applied, so they match the merged JSON', async () => {
    const remote = await remoteFor();
    const writer = await open(remote);
    // another writer lands first: a namespace and an entry this writer has never seen
    const other = await open(remote);
    await other.commit({ changes: [put(QUAY, 'quay.io/coreos', [['etcd', 'v3', 4]])], message: 'other writer', signal: UNINTERRUPTED });
    await pushByHand(remote, { [GCR]: serializeMetadata(applyUpdates(undefined, { source: 'gcr.io/google-containers', target: 'mirror.example/m' }, [])) });
    const result = await writer.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1]])], message: 'writer', signal: UNINTERRUPTED });
    assert.equal(result.attempts, 2, 'the first push was rejected');
    assert.deepEqual(await changedIn(remote), [INDEX_PAGE, GCR, GCR_PAGE].sort());
    await assertPagesMatchJson(remote);
    const overview = await showExact(remote, INDEX_PAGE);
    assert.match(overview, /2 namespaces, 2 repositories, 2 tags\./);
    assert.match(overview, /quay\.io\/coreos\.md/);
    assert.equal(await showExact(remote, QUAY_PAGE), await showExact(remote, QUAY_PAGE, 'main~2'), 'the other namespace page was already right');
  });

  it('leaves a hand-written metadata/README.md alone and a corrupt other namespace out of the pages', async () => {
    const remote = await remoteFor();
    await pushByHand(remote, { [INDEX_PAGE]: '# Our mirror\n\nWritten by hand.\n', [QUAY]: '{ "images": ' });
    const lines: string[] = [];
    const repo = await open(remote, { logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }), signal: UNINTERRUPTED });
    const result = await repo.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1]])], message: 'sync', signal: UNINTERRUPTED });
    assert.equal(result.committed, true);
    assert.deepEqual(await changedIn(remote), [GCR, GCR_PAGE].sort());
    assert.equal(await showExact(remote, INDEX_PAGE), '# Our mirror\n\nWritten by hand.\n');
    assert.equal(await showExact(remote, QUAY), '{ "images": ', 'the corrupt file is untouched');
    assert.ok(!(await filesIn(remote)).includes(QUAY_PAGE));
    assert.ok(lines.some((line) => /not overwriting a page gcrsync did not generate/.test(line) && line.includes(INDEX_PAGE)), lines.join('\n'));
    assert.ok(lines.some((line) => /left out of the index pages/.test(line) && line.includes(QUAY)), lines.join('\n'));
  });

  it('updates a page gcrsync generated before, in a checkout used in place', async () => {
    const remote = await remoteFor();
    const first = await open(remote);
    await first.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1]])], message: 'first', signal: UNINTERRUPTED });
    const checkout = await cloneWithIdentity(remote.url);
    cleanups.push(() => checkout.cleanup());
    const inPlace = await openMetadataRepo({ cwd: checkout.dir, site: renderSite, signal: UNINTERRUPTED });
    cleanups.push(() => inPlace.close());
    const result = await inPlace.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.2', 2]])], message: 'second', signal: UNINTERRUPTED });
    assert.equal(result.pushed, true);
    assert.deepEqual(await changedIn(remote), [INDEX_PAGE, GCR, GCR_PAGE].sort());
    await assertPagesMatchJson(remote);
    assert.match(await showExact(remote, GCR_PAGE), /\| \[pause\]\(#repo-pause\) \| 2 \| `3\.2` \|/);
  });

  it('leaves site/ alone when the repo is opened without a site renderer (readers, library use)', async () => {
    const remote = await remoteFor();
    const repo = await fixtures.open(remote);
    await repo.commit({ changes: [put(GCR, 'gcr.io/google-containers', [['pause', '3.1', 1]])], message: 'no site', signal: UNINTERRUPTED });
    assert.deepEqual(await changedWithSite(remote), [INDEX_PAGE, GCR, GCR_PAGE].sort());
  });
});
