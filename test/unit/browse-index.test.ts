import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GENERATED_MARKER, INDEX_PAGE, PAGE_BUDGET, namespacePagePath, renderIndex, type IndexInput } from '../../src/store/index-pages.js';
import { sortTagsNewestFirst } from '../../src/ref/tag-order.js';
import { applyUpdates, type MetadataUpdate, type TagRecord } from '../../src/store/schema.js';

const digest = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
/** a sync time `minutes` after a fixed start */
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 8, 0) + minutes * 60_000).toISOString();

function record(repository: string, tag: string, target: string, minutes: number, extra: Partial<TagRecord> = {}): MetadataUpdate {
  return { repository, tag, record: { digest: digest(`${repository}:${tag}`), target: `${target}:${tag}`, syncedAt: at(minutes), platforms: ['linux/amd64'], ...extra } };
}

/** A large namespace: `pause` with 320 version tags synced in shuffled order, plus non-version tags and two small repositories. */
function largeNamespace(): IndexInput {
  const updates: MetadataUpdate[] = [];
  const versions: string[] = [];
  for (let major = 1; major <= 4; major++) for (let minor = 0; minor < 80; minor++) versions.push(`${major}.${minor}`);
  // the copies finished in an order unrelated to the versions
  versions.forEach((tag, i) => updates.push(record('pause', tag, 'docker.io/gcrxio/pause', (i * 37) % versions.length)));
  updates.push(record('pause', 'latest', 'docker.io/gcrxio/pause', 500));
  updates.push(record('pause', 'sha256-abc.sig', 'docker.io/gcrxio/pause', 400));
  updates.push(record('pause', 'v4.79.1-rc.1', 'docker.io/gcrxio/pause', 10, { platforms: ['linux/amd64', 'linux/arm64'] }));
  updates.push(record('sub/app', 'v1', 'docker.io/gcrxio/sub_app', 5, { targetDigest: digest('rebuilt') }));
  updates.push(record('etcd', '3.5.0-0', 'docker.io/gcrxio/etcd', 900));
  const metadata = applyUpdates(undefined, { source: 'gcr.io/google-containers', target: 'docker.io/gcrxio' }, updates);
  return { file: 'metadata/gcr.io/google-containers.json', metadata };
}

function smallRegistry(): IndexInput {
  const metadata = applyUpdates(undefined, { source: '127.0.0.1:5000', target: 'mirror.example/m' }, [record('tool', '1.0', 'mirror.example/m/tool', 1000)]);
  return { file: 'metadata/127.0.0.1_5000/_root.json', metadata };
}

/** Dates and digests replaced, so the test pins the structure and not bytes that change with the data. */
function skeleton(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/g, '<time>').replace(/sha256:[0-9a-f]{12}\b/g, '<digest>');
}

describe('browse: renderIndex', () => {
  const pages = [...renderIndex([largeNamespace(), smallRegistry()])];
  const page = (path: string) => pages.find((p) => p.path === path)?.text ?? assert.fail(`no page ${path}`);

  it('renders the overview and one page per namespace beside its JSON, sorted by path', () => {
    assert.deepEqual(
      pages.map((p) => p.path),
      [INDEX_PAGE, 'metadata/127.0.0.1_5000/_root.md', 'metadata/gcr.io/google-containers.md'],
    );
    assert.equal(namespacePagePath('metadata/quay.io/coreos/etcd.json'), 'metadata/quay.io/coreos/etcd.md');
    for (const p of pages) assert.ok(p.text.startsWith(GENERATED_MARKER + '\n'), `${p.path} starts with the generated marker`);
  });

  it('overview: namespaces with repository and tag counts, the last sync, relative links to the pages', () => {
    assert.equal(
      skeleton(page(INDEX_PAGE)),
      [
        GENERATED_MARKER,
        '',
        '# Mirrored images',
        '',
        '2 namespaces, 4 repositories, 326 tags. Last sync: <time>.',
        '',
        '| source | mirror | repositories | tags | last sync |',
        '|---|---|--:|--:|---|',
        '| [127.0.0.1:5000](127.0.0.1_5000/_root.md) | `mirror.example/m` | 1 | 1 | <time> |',
        '| [gcr.io/google-containers](gcr.io/google-containers.md) | `docker.io/gcrxio` | 3 | 325 | <time> |',
        '',
        'Find the mirror of an image from the command line: `gcrsync where IMAGE` (or `gcrsync list QUERY`), with',
        '`--metadata-repo` pointing at this repository. `gcrsync pull IMAGE` pulls the mirror and tags it with the original name.',
        '',
      ].join('\n'),
    );
    // the newest syncedAt of everything, not the time of rendering
    assert.match(page(INDEX_PAGE), /Last sync: 2026-11-24 00:40 UTC\./);
  });

  it('namespace page: a repository table, then a section per repository with one row per tag and the pull line', () => {
    const text = page('metadata/gcr.io/google-containers.md');
    const lines = skeleton(text).split('\n');
    assert.deepEqual(lines.slice(0, 12), [
      GENERATED_MARKER,
      '',
      '# gcr.io/google-containers',
      '',
      'Mirrored to `docker.io/gcrxio`: 3 repositories, 325 tags. Last sync: <time>. [All namespaces](../README.md)',
      '',
      '| repository | tags | newest tag | last sync |',
      '|---|--:|---|---|',
      '| [etcd](#repo-etcd) | 1 | `3.5.0-0` | <time> |',
      '| [pause](#repo-pause) | 323 | `v4.79.1-rc.1` | <time> |',
      '| [sub/app](#repo-sub/app) | 1 | `v1` | <time> |',
      '',
    ]);
    const headings = lines.filter((line) => line.startsWith('## '));
    assert.deepEqual(headings, ['## etcd', '## pause', '## sub/app']);
    const pauseStart = lines.indexOf('## pause');
    assert.equal(lines[pauseStart - 2], '<a id="repo-pause"></a>');
    assert.deepEqual(lines.slice(pauseStart + 1, pauseStart + 6), [
      '',
      '`gcr.io/google-containers/pause` → `docker.io/gcrxio/pause`',
      '',
      '| tag | digest | platforms | synced at | pull from the mirror |',
      '|---|---|---|---|---|',
    ]);
    const rows = lines.slice(pauseStart + 6, lines.indexOf('', pauseStart + 6));
    assert.equal(rows.length, 323, 'one row per tag');
    const tags = rows.map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1]);
    // newest first: versions by version (4.79.1-rc.1 is a pre-release of 4.79.1, above 4.79), then the rest by sync time
    assert.deepEqual(tags.slice(0, 4), ['v4.79.1-rc.1', '4.79', '4.78', '4.77']);
    assert.deepEqual(tags.slice(79, 83), ['4.1', '4.0', '3.79', '3.78']);
    assert.deepEqual(tags.slice(-3), ['1.0', 'latest', 'sha256-abc.sig']);
    assert.equal(rows[0], '| `v4.79.1-rc.1` | `<digest>` | linux/amd64, linux/arm64 | <time> | `docker pull docker.io/gcrxio/pause:v4.79.1-rc.1` |');
    const subApp = lines.slice(lines.indexOf('## sub/app'));
    assert.match(subApp.join('\n'), /\| `v1` \| `<digest>` \(mirror `<digest>`\) \| linux\/amd64 \| <time> \| `docker pull docker\.io\/gcrxio\/sub_app:v1` \|/);
  });

  it('is stable: the same JSON gives the same bytes, and a new sync changes only what it touched', () => {
    const again = [...renderIndex([smallRegistry(), largeNamespace()])];
    assert.deepEqual(again, pages, 'input order does not matter, and nothing depends on the clock');
    const moved = largeNamespace();
    moved.metadata.images['etcd']!['3.5.0-0'] = { ...moved.metadata.images['etcd']!['3.5.0-0']!, syncedAt: at(2000) };
    const after = [...renderIndex([moved, smallRegistry()])];
    assert.equal(after.find((p) => p.path === 'metadata/127.0.0.1_5000/_root.md')!.text, page('metadata/127.0.0.1_5000/_root.md'));
    assert.notEqual(after.find((p) => p.path === 'metadata/gcr.io/google-containers.md')!.text, page('metadata/gcr.io/google-containers.md'));
  });

  it('shows old-format records (no digest, target or time) with dashes, and an empty repo as such', () => {
    const legacy = { file: 'metadata/gcr.io/old.json', metadata: applyUpdates(undefined, { source: '', target: '' }, [{ repository: 'app', tag: 'v1', record: { digest: '', target: '', syncedAt: '' } }]) };
    const [overview, namespace] = [...renderIndex([legacy])];
    assert.match(overview!.text, /\| \[gcr\.io\/old\]\(gcr\.io\/old\.md\) \| — \| 1 \| 1 \| — \|/);
    assert.match(namespace!.text, /\| `v1` \| — \| — \| — \| — \|/);
    assert.match([...renderIndex([])][0]!.text, /Nothing is mirrored yet\./);
  });

  it('ignores inputs whose path is not a metadata file path', () => {
    assert.deepEqual([...renderIndex([{ file: 'elsewhere/x.json', metadata: smallRegistry().metadata }])].map((p) => p.path), [INDEX_PAGE]);
  });
});

describe('browse: sortTagsNewestFirst', () => {
  const cases: Array<{ name: string; tags: Array<[string, string]>; expected: string[] }> = [
    { name: 'versions by version, not by text', tags: [['3.9', ''], ['3.10', ''], ['3.8', '']], expected: ['3.10', '3.9', '3.8'] },
    { name: 'v prefix and missing parts', tags: [['v1', ''], ['v1.2', ''], ['1.1.9', '']], expected: ['v1.2', '1.1.9', 'v1'] },
    { name: 'pre-releases below their release', tags: [['1.0.0-rc.1', ''], ['1.0.0', ''], ['0.9', '']], expected: ['1.0.0', '1.0.0-rc.1', '0.9'] },
    {
      name: 'non-versions after versions, newest sync first, unknown time last',
      tags: [['latest', '2026-01-02T00:00:00Z'], ['edge', '2026-01-03T00:00:00Z'], ['old', ''], ['1.0', '2020-01-01T00:00:00Z']],
      expected: ['1.0', 'edge', 'latest', 'old'],
    },
    {
      name: 'non-versions synced at the same time: digit-led first, then descending text',
      tags: [['b', 'x'], ['a', 'x'], ['2024_01_02', 'x'], ['a-10', 'x'], ['a-9', 'x']],
      expected: ['2024_01_02', 'b', 'a-10', 'a-9', 'a'],
    },
    { name: 'equal versions by descending text', tags: [['1.0', ''], ['v1.0', ''], ['1.0.0', '']], expected: ['v1.0', '1.0.0', '1.0'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sorted = sortTagsNewestFirst(c.tags, ([tag, syncedAt]) => ({ tag, syncedAt }));
      assert.deepEqual(sorted.map(([tag]) => tag), c.expected);
    });
  }
});

describe('browse: renderIndex past the size GitHub renders', () => {
  /** 1 200 repositories × 25 tags: as one page it would be several megabytes */
  function hugeNamespace(): IndexInput {
    const updates: MetadataUpdate[] = [];
    for (let r = 0; r < 1200; r++) for (let t = 0; t < 25; t++) updates.push(record(`team-${r}/app`, `1.${t}.0`, `docker.io/gcrxio/team-${r}_app`, r * 25 + t));
    // one repository alone too big for a page
    for (let t = 0; t < 6000; t++) updates.push(record('giant', `0.0.${t}`, 'docker.io/gcrxio/giant', t));
    return { file: 'metadata/gcr.io/huge.json', metadata: applyUpdates(undefined, { source: 'gcr.io/huge', target: 'docker.io/gcrxio' }, updates) };
  }
  const pages = [...renderIndex([hugeNamespace(), smallRegistry()])];
  const byPath = new Map(pages.map((p) => [p.path, p.text]));

  it('keeps every page under PAGE_BUDGET, and a small namespace on one page as before', () => {
    for (const p of pages) assert.ok(Buffer.byteLength(p.text) <= PAGE_BUDGET, `${p.path} is ${Buffer.byteLength(p.text)} bytes`);
    assert.ok(byPath.has('metadata/127.0.0.1_5000/_root.md'));
    assert.ok(![...byPath.keys()].some((path) => path.startsWith('metadata/127.0.0.1_5000/_root/')));
  });

  it('splits a big namespace into a repository list linking one page per repository, each tag on exactly one page', () => {
    const list = byPath.get('metadata/gcr.io/huge.md')!;
    assert.ok(list.startsWith(GENERATED_MARKER));
    assert.match(list, /\| \[team-7\/app\]\(huge\/_repositories\/team-7\/app\.md\) \| 25 \| `1\.24\.0` \|/);
    assert.doesNotMatch(list, /docker pull/);
    const repositoryPage = byPath.get('metadata/gcr.io/huge/_repositories/team-7/app.md')!;
    assert.match(repositoryPage, /^# gcr\.io\/huge\/team-7\/app$/m);
    assert.ok(repositoryPage.includes('[gcr.io/huge](../../../huge.md)'));
    assert.equal(repositoryPage.match(/`docker pull docker\.io\/gcrxio\/team-7_app:/g)!.length, 25);
    const giant = pages.filter((p) => p.path.startsWith('metadata/gcr.io/huge/_repositories/giant'));
    assert.deepEqual(giant.map((p) => p.path).slice(0, 2), ['metadata/gcr.io/huge/_repositories/giant.md', 'metadata/gcr.io/huge/_repositories/giant~2.md']);
    assert.match(giant[0]!.text, new RegExp(`^Page 1 of ${giant.length}: \\*\\*1\\*\\* · \\[2\\]\\(giant~2\\.md\\)`, 'm'));
    const rows = giant.flatMap((p) => p.text.match(/^\| `0\.0\.\d+` \|/gm) ?? []);
    assert.equal(rows.length, 6000);
    assert.equal(new Set(rows).size, 6000);
    assert.equal(rows[0], '| `0.0.5999` |', 'newest first across pages');
  });
});
