import assert from 'node:assert/strict';
import { CHANGELOG_DETAIL_LIMIT, CHANGELOG_HEADER, prependChangelog, renderChangelogSection } from '../../src/store/changelog.js';

const time = new Date('2026-11-23T12:34:56.789Z');

describe('store changelog: renderChangelogSection', () => {
  it('renders a UTC heading, then new and updated images separately, each source → target', () => {
    const section = renderChangelogSection({
      time,
      title: 'gcr.io/google-containers → docker.io/gcrxio',
      entries: [
        { source: 'gcr.io/google-containers/pause:3.2', target: 'docker.io/gcrxio/pause:3.2', kind: 'new' },
        { source: 'gcr.io/google-containers/etcd:3.4', target: 'docker.io/gcrxio/etcd:3.4', kind: 'updated' },
        { source: 'gcr.io/google-containers/coredns:1.7', target: 'docker.io/gcrxio/coredns:1.7', kind: 'new' },
      ],
    });
    assert.equal(
      section,
      [
        '## 2026-11-23 12:34:56 UTC - gcr.io/google-containers → docker.io/gcrxio',
        '',
        '### New (2)',
        '',
        '- `gcr.io/google-containers/coredns:1.7` → `docker.io/gcrxio/coredns:1.7`',
        '- `gcr.io/google-containers/pause:3.2` → `docker.io/gcrxio/pause:3.2`',
        '',
        '### Updated (1)',
        '',
        '- `gcr.io/google-containers/etcd:3.4` → `docker.io/gcrxio/etcd:3.4`',
        '',
      ].join('\n'),
    );
  });

  it('uses UTC whatever the local time zone says, and keeps a title on one line', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Shanghai'; // Node applies a changed TZ at once
    try {
      assert.equal(new Date('2027-01-01T00:00:00+08:00').getHours(), 0, 'the local zone really is +08:00');
      const section = renderChangelogSection({ time: new Date('2027-01-01T00:00:00+08:00'), title: 'two\nlines', entries: [] });
      assert.equal(section.split('\n')[0], '## 2026-12-31 16:00:00 UTC - two lines');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('leaves out a group with no entries', () => {
    const section = renderChangelogSection({ time, entries: [{ source: 'quay.io/a/b:1', target: 'docker.io/x/b:1', kind: 'updated' }] });
    assert.doesNotMatch(section, /### New/);
    assert.match(section, /^## 2026-11-23 12:34:56 UTC\n\n### Updated \(1\)\n/);
  });
});

describe('store changelog: prependChangelog', () => {
  const s1 = renderChangelogSection({ time: new Date('2026-01-01T00:00:00Z'), entries: [{ source: 'gcr.io/a/b:1', target: 'docker.io/x/b:1', kind: 'new' }] });
  const s2 = renderChangelogSection({ time: new Date('2026-01-02T00:00:00Z'), entries: [{ source: 'gcr.io/a/b:2', target: 'docker.io/x/b:2', kind: 'new' }] });
  const s3 = renderChangelogSection({ time: new Date('2026-01-03T00:00:00Z'), entries: [{ source: 'gcr.io/a/b:1', target: 'docker.io/x/b:1', kind: 'updated' }] });

  it('starts a file with the fixed header', () => {
    assert.equal(prependChangelog(undefined, s1), `${CHANGELOG_HEADER}\n${s1}`);
    assert.equal(prependChangelog('', s1), `${CHANGELOG_HEADER}\n${s1}`);
  });

  it('puts the newest section first and keeps the older ones', () => {
    const file = prependChangelog(prependChangelog(prependChangelog(undefined, s1), s2), s3);
    assert.equal(file, `${CHANGELOG_HEADER}\n${s3}\n${s2}\n${s1}`);
  });

  it('keeps older sections byte for byte, odd formatting included', () => {
    const older = '## 2020-05-25 10:00:00 UTC  \r\n\r\n- `a` → `b`\n\n\n### 2018-09-19 08:00:00 Update:\n\n- gcr.io/google-containers/pause:3.1\t'; // no final newline
    const file = prependChangelog(`# CHANGELOG\n\n${older}`, s2);
    assert.equal(file, `${CHANGELOG_HEADER}\n${s2}\n${older}`);
    assert.ok(file.endsWith(older));
  });

  it('keeps a file without our header whole, after the new section', () => {
    const oldGcrsync = '### 2018-09-19 16:00:00 Update:\n\n- gcr.io/google-containers/pause:3.1\n';
    assert.equal(prependChangelog(oldGcrsync, s1), `${CHANGELOG_HEADER}\n${s1}\n${oldGcrsync}`);
  });

  it('ends the new section with exactly one newline', () => {
    assert.equal(prependChangelog(undefined, '## x\n\n\n'), `${CHANGELOG_HEADER}\n## x\n`);
  });
});

describe('store changelog: large runs', () => {
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ source: `gcr.io/ns/r${i % 3}:${i}`, target: `m.example/x/r${i % 3}:${i}`, kind: 'new' as const }));

  it(`lists every image up to ${CHANGELOG_DETAIL_LIMIT}, and past it counts them per repository with a link to the catalog`, () => {
    const full = renderChangelogSection({ time, entries: entries(CHANGELOG_DETAIL_LIMIT) });
    assert.equal(full.split('\n').filter((line) => line.startsWith('- ')).length, CHANGELOG_DETAIL_LIMIT);
    assert.doesNotMatch(full, /site\/changes\.html/);
    const counted = renderChangelogSection({ time, entries: [...entries(CHANGELOG_DETAIL_LIMIT + 1), { source: 'quay.io/a/b:1', target: 'm.example/x/b:1', kind: 'updated' }] });
    assert.equal(
      counted,
      [
        '## 2026-11-23 12:34:56 UTC',
        '',
        `${CHANGELOG_DETAIL_LIMIT + 2} images changed, counted per repository here; [the catalog's change page](site/changes.html#c-20261123-123456) links the page of each repository, which lists its tags.`,
        '',
        `### New (${CHANGELOG_DETAIL_LIMIT + 1})`,
        '',
        '- `gcr.io/ns/r0` → `m.example/x/r0`: 167 tags',
        '- `gcr.io/ns/r1` → `m.example/x/r1`: 167 tags',
        '- `gcr.io/ns/r2` → `m.example/x/r2`: 167 tags',
        '',
        '### Updated (1)',
        '',
        '- `quay.io/a/b` → `m.example/x/b`: 1 tag',
        '',
      ].join('\n'),
    );
  });
});

describe('store changelog: a run over very many repositories', () => {
  it(`lists ${CHANGELOG_DETAIL_LIMIT} repositories and counts the rest`, () => {
    const entries = Array.from({ length: 2 * CHANGELOG_DETAIL_LIMIT }, (_, i) => ({ source: `gcr.io/ns/r${String(i).padStart(4, '0')}:1`, target: `m.example/x/r${i}:1`, kind: 'new' as const }));
    const lines = renderChangelogSection({ time, entries }).split('\n');
    assert.equal(lines.filter((line) => line.startsWith('- `')).length, CHANGELOG_DETAIL_LIMIT);
    assert.equal(lines.at(-3), '- `gcr.io/ns/r0499` → `m.example/x/r499`: 1 tag');
    assert.equal(lines.at(-2), `- … and ${CHANGELOG_DETAIL_LIMIT} more repositories`);
  });
});
