import assert from 'node:assert/strict';
import { compileTagFilter, isUnstableTag, tagSemver, type TagFilterRules } from '../../src/config/filters.js';
import { sortTagsNewestFirst } from '../../src/ref/tag-order.js';
import { isGcrsyncError } from '../../src/errors.js';

const digest = 'sha256:' + 'a'.repeat(64);
const listing = (repository: string, tags: string[]) => tags.map((tag) => ({ repository, tag, digest }));
const kept = (rules: TagFilterRules, tags: string[], repository = 'ns/app') => compileTagFilter(rules)(listing(repository, tags)).map((t) => t.tag);

const k8sTags = ['v1.27.9', 'v1.28.0', 'v1.28.4', 'v1.29.0-rc.1', 'v1.29.0', 'v1.30.0-alpha.2', 'v1.30.2', 'v1.31.0', 'latest', 'sha-abc', '1.30'];

describe('tag filters', () => {
  const cases: Array<{ name: string; rules: TagFilterRules; tags: string[]; expected: string[] }> = [
    { name: 'no rules keep everything', rules: {}, tags: k8sTags, expected: k8sTags },
    { name: 'include: a tag must match one pattern', rules: { include: ['^v1\\.28\\.', '^latest$'] }, tags: k8sTags, expected: ['v1.28.0', 'v1.28.4', 'latest'] },
    { name: 'exclude: a tag matching any pattern is dropped', rules: { exclude: ['-rc', '-alpha', '^sha-'] }, tags: k8sTags, expected: ['v1.27.9', 'v1.28.0', 'v1.28.4', 'v1.29.0', 'v1.30.2', 'v1.31.0', 'latest', '1.30'] },
    {
      name: 'semver range: v-prefixed tags coerced, pre-releases and non-semver tags dropped',
      rules: { semver: '>=1.28.0 <1.31' },
      tags: k8sTags,
      expected: ['v1.28.0', 'v1.28.4', 'v1.29.0', 'v1.30.2'],
    },
    {
      name: 'newerThan: newer semver tags only, latest/alpha/beta/rc dropped by default',
      rules: { newerThan: 'v1.29.0' },
      tags: [...k8sTags, '1.29.1-beta.0', 'v1.32.0-rc1'],
      expected: ['v1.30.2', 'v1.31.0'],
    },
    {
      name: 'newerThan with stableOnly: false keeps pre-releases that sort after the floor',
      rules: { newerThan: 'v1.29.0', stableOnly: false },
      tags: k8sTags,
      expected: ['v1.30.0-alpha.2', 'v1.30.2', 'v1.31.0'],
    },
    { name: 'stableOnly on its own', rules: { stableOnly: true }, tags: k8sTags, expected: ['v1.27.9', 'v1.28.0', 'v1.28.4', 'v1.29.0', 'v1.30.2', 'v1.31.0', 'sha-abc', '1.30'] },
    // `1.30` reads as version 1.30.0, above v1.30.0-alpha.2
    { name: 'newest N per repository, version order, listing order kept', rules: { newest: 3 }, tags: k8sTags, expected: ['v1.30.2', 'v1.31.0', '1.30'] },
    { name: 'newest N after the other rules', rules: { newest: 2, exclude: ['-'] }, tags: k8sTags, expected: ['v1.30.2', 'v1.31.0'] },
    { name: 'newest N among tags that are not semver: read as versions', rules: { newest: 2 }, tags: ['3.9', '3.10', 'edge', '20240101', '20231231'], expected: ['20240101', '20231231'] },
    { name: 'newest N: a short version above an older full one', rules: { newest: 1 }, tags: ['1.9.0', '2.0', 'edge'], expected: ['2.0'] },
    { name: 'newest N: word tags rank last', rules: { newest: 2 }, tags: ['edge', 'stable', '3.9'], expected: ['stable', '3.9'] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(kept(c.rules, c.tags), c.expected));
  }

  it('counts newest N for each repository separately', () => {
    const tags = [...listing('ns/a', ['1.0.0', '2.0.0', '3.0.0']), ...listing('ns/b', ['0.1.0', '0.2.0'])];
    assert.deepEqual(
      compileTagFilter({ newest: 1 })(tags).map((t) => `${t.repository}:${t.tag}`),
      ['ns/a:3.0.0', 'ns/b:0.2.0'],
    );
  });

  const bad: Array<[string, TagFilterRules, RegExp]> = [
    ['a bad regex', { include: ['(unclosed'] }, /filters\.include: "\(unclosed" is not a regular expression/],
    ['a bad range', { semver: 'newest please' }, /filters\.semver: "newest please" is not a semver range/],
    ['a newerThan that is not semver', { newerThan: 'latest' }, /filters\.newerThan: "latest"/],
    ['a newest of 0', { newest: 0 }, /filters\.newest/],
  ];
  for (const [name, rules, why] of bad) {
    it(`refuses ${name} as a CONFIG error`, () => {
      assert.throws(() => compileTagFilter(rules), (e: unknown) => isGcrsyncError(e, 'CONFIG') && why.test(e.message));
    });
  }
});

describe('tag order and classes', () => {
  it('reads semver strictly, with an optional v', () => {
    assert.equal(tagSemver('v1.2.3')?.version, '1.2.3');
    assert.equal(tagSemver('1.2.3-rc.1')?.version, '1.2.3-rc.1');
    for (const notSemver of ['1.17', 'latest', '3.1-alpine', 'v1', 'version1.2.3']) assert.equal(tagSemver(notSemver), undefined, notSemver);
  });
  it('sorts version tags newest first (missing parts as 0, a release above its release candidates), then digit tags, then words', () => {
    const tags = ['v1.10.0', 'edge', '1.9.0', 'v1.10.0-rc.1', 'beta', '2.0', '3.9', '3.10', '1.2.3.4', '1.2.3.5', 'v1.10.0+build'];
    const sorted = sortTagsNewestFirst(tags, (tag) => ({ tag }));
    assert.deepEqual(sorted, ['3.10', '3.9', '2.0', 'v1.10.0+build', 'v1.10.0', 'v1.10.0-rc.1', '1.9.0', '1.2.3.5', '1.2.3.4', 'edge', 'beta']);
  });
  it('knows latest and alpha/beta/rc as words, not inside words', () => {
    for (const tag of ['latest', 'v1.30.0-rc.1', '1.0.0-beta2', 'rc1', 'v2-alpha', 'nightly-latest']) assert.ok(isUnstableTag(tag), tag);
    for (const tag of ['v1.30.0', 'src-1.0', 'alphabet', '1.0-arc']) assert.ok(!isUnstableTag(tag), tag);
  });
});
