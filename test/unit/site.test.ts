import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseChangelog } from '../../src/site/changes.js';
import { escapeHtml } from '../../src/site/html.js';
import { ROWS_PER_PAGE } from '../../src/site/pages.js';
import { renderSite } from '../../src/site/render.js';
import { SITE_MANIFEST, writeSiteFiles } from '../../src/store/site-files.js';
import { CHANGELOG_HEADER, renderChangelogSection } from '../../src/store/changelog.js';
import type { IndexInput } from '../../src/store/index-pages.js';
import type { TagRecord } from '../../src/store/schema.js';
import { generateMirror } from '../support/site-mirror.js';
import { tempDir } from '../support/temp.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const HOSTILE = `<script>alert("x")</script>'&`;

/**
 * Names the schema would refuse: the renderers must stay safe even when handed names nobody validated. (Targets
 * are parsed for the pull commands, so an unparseable one throws instead; records here have none.)
 */
function hostileInput(): IndexInput {
  const record: TagRecord = { digest: `sha256:${'a'.repeat(64)}`, target: '', syncedAt: '2026-11-23T12:00:00Z', platforms: [HOSTILE] };
  const images = Object.assign(Object.create(null), { [`evil${HOSTILE}`]: Object.assign(Object.create(null), { [HOSTILE]: record }) });
  return { file: 'metadata/gcr.io/evil.json', metadata: { source: `gcr.io/${HOSTILE}`, target: `mirror.example/${HOSTILE}`, images } };
}

describe('site: renderSite', () => {
  const mirror = generateMirror({ namespaces: 3, repositoriesPerNamespace: 30, tagsPerRepository: 4 });

  it('is deterministic: the same metadata and changelog give the same bytes, whatever the input order', () => {
    const once = renderSite(mirror.inputs, mirror.changelog);
    const again = renderSite([...mirror.inputs].reverse(), mirror.changelog);
    assert.deepEqual([...again], [...once]);
    assert.ok(once.has('index.html') && once.has('changes.html') && once.has('feed.atom'));
    assert.equal([...once.keys()].filter((path) => path.startsWith('search/')).length, 3, 'one shard per small namespace');
  });

  it('a new tag changes only its repository page, its namespace page, the start page counts and one search shard', () => {
    const before = renderSite(mirror.inputs, mirror.changelog);
    const changed = structuredClone(mirror.inputs);
    const repository = Object.keys(changed[1]!.metadata.images).sort()[7]!;
    const tags = changed[1]!.metadata.images[repository]!;
    tags['v9.0.0'] = { ...Object.values(tags)[0]!, target: `mirror.example/x/${repository}:v9.0.0` };
    const after = renderSite(changed, mirror.changelog);
    const differ = [...after.keys()].filter((path) => before.get(path) !== after.get(path));
    const page = `r/${changed[1]!.file.slice('metadata/'.length, -'.json'.length)}/-/`;
    assert.deepEqual(differ.filter((path) => !path.startsWith('search/')), ['index.html', `${page}${repository}.html`, `${page}_index.html`].sort());
    const shards = differ.filter((path) => path.startsWith('search/'));
    assert.equal(shards.length, 1);
    assert.match(after.get(shards[0]!)!, new RegExp(`\\["${repository}","mirror\\.example/x/${repository}",5,"v9\\.0\\.0"\\]`));
  });

  it('escapes every name from the metadata in pages and the feed; the search index keeps them as JSON data', () => {
    const files = renderSite([hostileInput()], `${CHANGELOG_HEADER}\n## 2026-11-23 12:00:00 UTC - ${HOSTILE}\n\n### New (1)\n\n- \`gcr.io/${HOSTILE}:1\` → \`m/${HOSTILE}:1\`\n`);
    for (const [path, text] of files) {
      if (path.startsWith('search/')) {
        const added: unknown[] = [];
        new Function('gcrsyncSearch', text)({ add: (namespace: unknown, items: unknown[]) => added.push(namespace, ...items) });
        assert.deepEqual(added, [
          { source: `gcr.io/${HOSTILE}`, target: `mirror.example/${HOSTILE}`, pages: 'r/gcr.io/evil/-/' },
          [`evil${HOSTILE}`, '', 1, HOSTILE],
        ], 'the shard is a script that hands over the names as data');
        continue;
      }
      if (path.startsWith('assets/')) continue;
      assert.ok(!text.includes('<script>alert'), `${path} has no raw script`);
      assert.ok(!/="[^"]*"x"/.test(text), `${path}: no attribute is closed early`);
    }
    const page = files.get(`r/gcr.io/evil/-/evil${HOSTILE}.html`)!;
    assert.ok(page.includes(`<h1>gcr.io/${escapeHtml(HOSTILE)}/evil${escapeHtml(HOSTILE)}</h1>`));
    assert.ok(page.includes(`<tr id="tag-${escapeHtml(HOSTILE)}">`));
    assert.ok(files.get('feed.atom')!.includes(`<title>new 1 · ${escapeHtml(HOSTILE)}</title>`));
    assert.equal(escapeHtml('a\u0000b\u001fc'), 'abc', 'control characters, which XML forbids, are dropped');
  });

  it('marks cosign signature tags on the repository page and pulls the newest image tag, not a signature', () => {
    const signed = structuredClone(mirror.inputs.slice(0, 1));
    const repository = Object.keys(signed[0]!.metadata.images).sort()[0]!;
    const tags = signed[0]!.metadata.images[repository]!;
    const sig = `sha256-${'b'.repeat(64)}.sig`;
    tags[sig] = { ...tags['latest']!, target: `mirror.example/x/${repository}:${sig}`, syncedAt: '2027-01-01T00:00:00Z' };
    const page = renderSite(signed, undefined).get(`r/gcr.io/google-containers/-/${repository}.html`)!;
    assert.ok(page.includes(`<code>${sig}</code><br><span class="muted">signature of <code>sha256:bbbbbbbbbbbb</code></span>`));
    assert.ok(page.includes('<dt>Signatures</dt><dd>1 cosign signature, attestation or SBOM tags carried</dd>'));
    assert.match(page, /<h2>Pull the newest tag \(<code>v1\.0\.3<\/code>\)<\/h2>/);
  });

  it('counts the signatures and referrers records say came along, and shows a schema1 tag as not mirrorable', () => {
    const signed = structuredClone(mirror.inputs.slice(0, 1));
    const repository = Object.keys(signed[0]!.metadata.images).sort()[0]!;
    const tags = signed[0]!.metadata.images[repository]!;
    tags['latest'] = { ...tags['latest']!, signatures: 2, referrers: 1 };
    tags['old'] = { digest: tags['latest']!.digest, target: '', syncedAt: '2016-01-01T00:00:00Z', skipped: 'schema1' };
    const page = renderSite(signed, undefined).get(`r/gcr.io/google-containers/-/${repository}.html`)!;
    assert.ok(page.includes('<dt>Signatures</dt><dd>2 cosign signature, attestation or SBOM tags carried</dd>'));
    assert.ok(page.includes('<dt>Referrers</dt><dd>1 OCI 1.1 referrers (signatures, attestations, SBOMs) carried</dd>'));
    assert.match(page, /<tr id="tag-old">.*<td>not mirrorable: schema1<\/td><\/tr>/);
  });

  it('shows an empty mirror and an empty changelog as such', () => {
    const files = renderSite([], undefined);
    assert.match(files.get('index.html')!, /0 namespaces, 0 repositories, 0 tags\. Last sync: —\./);
    assert.match(files.get('changes.html')!, /Nothing was synced yet\./);
    assert.match(files.get('feed.atom')!, /<updated>1970-01-01T00:00:00Z<\/updated>\n  <author>/);
  });
});

describe('site: change page from the CHANGELOG', () => {
  const entries = (n: number, repository: string) =>
    Array.from({ length: n }, (_, i) => ({ source: `gcr.io/ns/${repository}:${i}`, target: `m.example/x/${repository}:${i}`, kind: 'new' as const }));

  it('a section past 500 images counts per repository and links the change page entry that the site renders', () => {
    const time = new Date('2026-11-23T12:00:00Z');
    const big = renderChangelogSection({ time, title: 'first sync', entries: [...entries(400, 'a'), ...entries(300, 'b')] });
    assert.ok(big.includes('700 images changed, counted per repository here; [the catalog\'s change page](site/changes.html#c-20261123-120000)'));
    assert.ok(big.includes('- `gcr.io/ns/a` → `m.example/x/a`: 400 tags\n- `gcr.io/ns/b` → `m.example/x/b`: 300 tags'));
    assert.ok(big.length < 1000, 'a few lines, not 700');
    const small = renderChangelogSection({ time: new Date('2026-11-24T08:00:00Z'), entries: entries(2, 'c') });
    const sections = parseChangelog(`${CHANGELOG_HEADER}\n${small}\n${big}`);
    assert.deepEqual(
      sections.map((section) => [section.id, section.time, section.title, section.groups.map((group) => [group.heading, group.total, group.items.length])]),
      [
        ['c-20261124-080000', '2026-11-24T08:00:00Z', '', [['New', 2, 2]]],
        ['c-20261123-120000', '2026-11-23T12:00:00Z', 'first sync', [['New', 700, 2]]],
      ],
    );
    const site = renderSite([], `${CHANGELOG_HEADER}\n${small}\n${big}`);
    assert.ok(site.get('changes.html')!.includes('<h2 id="c-20261123-120000">'));
    assert.ok(site.get('changes.html')!.includes('<li><code>gcr.io/ns/a</code> → <code>m.example/x/a</code>: 400 tags</li>'));
  });

  it('a run over more repositories than the CHANGELOG lists says how many images the page leaves out', () => {
    const many = Array.from({ length: 1200 }, (_, i) => ({ source: `gcr.io/ns/r${i}:1`, target: `m.example/x/r${i}:1`, kind: 'new' as const }));
    const page = renderSite([], renderChangelogSection({ time: new Date('2026-11-23T12:00:00Z'), entries: many })).get('changes.html')!;
    assert.equal(page.match(/<li><code>gcr\.io\/ns\/r\d+<\/code>/g)!.length, 500);
    assert.ok(page.includes('<li>… and 700 more images</li>'));
  });

  it('two runs in the same second get distinct ids, the older keeping the plain one', () => {
    const time = new Date('2026-11-23T12:00:00Z');
    const one = renderChangelogSection({ time, entries: entries(1, 'a') });
    const two = renderChangelogSection({ time, entries: entries(1, 'b') });
    assert.deepEqual(parseChangelog(`${two}\n${one}`).map((section) => section.id), ['c-20261123-120000-2', 'c-20261123-120000']);
  });
});

describe('site: writeSiteFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('site-unit');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes only what changed and deletes only files it wrote before', async () => {
    const out = join(dir, 'site');
    assert.deepEqual(await writeSiteFiles(out, new Map([['a.html', 'A'], ['r/b.html', 'B']]), UNINTERRUPTED), [SITE_MANIFEST, 'a.html', 'r/b.html']);
    await writeFile(join(out, 'CNAME'), 'mine');
    assert.deepEqual(await writeSiteFiles(out, new Map([['a.html', 'A'], ['r/b.html', 'B']]), UNINTERRUPTED), []);
    assert.deepEqual(await writeSiteFiles(out, new Map([['a.html', 'A2']]), UNINTERRUPTED), [SITE_MANIFEST, 'a.html', 'r/b.html']);
    await assert.rejects(readFile(join(out, 'r/b.html')), { code: 'ENOENT' });
    assert.equal(await readFile(join(out, 'a.html'), 'utf8'), 'A2');
    assert.equal(await readFile(join(out, 'CNAME'), 'utf8'), 'mine');
  });

  it('refuses paths that leave the site, by name or through a symbolic link, and ignores such names in the manifest', async () => {
    const out = join(dir, 'site');
    await assert.rejects(writeSiteFiles(out, new Map([['../x.html', 'x']]), UNINTERRUPTED), { code: 'BAD_REFERENCE' });
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(out, 'r'));
    await assert.rejects(writeSiteFiles(out, new Map([['r/x.html', 'x']]), UNINTERRUPTED), { code: 'BAD_REFERENCE' });
    await writeFile(join(dir, 'victim'), 'keep');
    await writeFile(join(out, SITE_MANIFEST), '../victim\n');
    await writeSiteFiles(out, new Map([['a.html', 'A']]), UNINTERRUPTED);
    assert.equal(await readFile(join(dir, 'victim'), 'utf8'), 'keep');
  });
});

describe('site: long lists', () => {
  it(`pages a repository's tags and a namespace's repositories by ${ROWS_PER_PAGE}, each page linking the others, every row once`, () => {
    const { inputs } = generateMirror({ namespaces: 1, repositoriesPerNamespace: ROWS_PER_PAGE + 1, tagsPerRepository: 1 });
    const images = inputs[0]!.metadata.images;
    const [first] = Object.keys(images).sort();
    const record = Object.values(images[first!]!)[0]!;
    for (let t = 0; t < 2 * ROWS_PER_PAGE + 5; t++) images[first!]![`9.${t}.0`] = { ...record, target: `mirror.example/x/${first}:9.${t}.0` };
    const files = renderSite(inputs, undefined);
    const dir = 'r/gcr.io/google-containers/-/';
    const tagPages = [`${dir}${first}.html`, `${dir}${first}~2.html`, `${dir}${first}~3.html`];
    assert.ok(tagPages.every((path) => files.has(path)) && !files.has(`${dir}${first}~4.html`));
    const rows = tagPages.flatMap((path) => files.get(path)!.match(/<tr id="tag-[^"]+">/g) ?? []);
    assert.equal(rows.length, 2 * ROWS_PER_PAGE + 6);
    assert.equal(new Set(rows).size, rows.length);
    assert.equal(rows[0], `<tr id="tag-9.${2 * ROWS_PER_PAGE + 4}.0">`, 'newest first across pages');
    assert.ok(files.get(tagPages[1]!)!.includes(`Page 2 of 3: <a href="${first}.html">1</a> <a aria-current="page">2</a> <a href="${first}~3.html">3</a>`));
    assert.ok(files.has(`${dir}_index.html`) && files.has(`${dir}_index~2.html`) && !files.has(`${dir}_index~3.html`));
    const listed = [`${dir}_index.html`, `${dir}_index~2.html`].flatMap((path) => files.get(path)!.match(/<tr><th scope="row">/g) ?? []);
    assert.equal(listed.length, ROWS_PER_PAGE + 1);
  });
});
