import assert from 'node:assert/strict';
import { digestTagsByImage, inShard, planSync } from '../../src/reconcile/plan.js';
import { targetReference } from '../../src/ref/naming.js';
import { applyUpdates } from '../../src/store/schema.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const source = { registry: 'gcr.io', namespace: 'ns' };
const target = { registry: 'docker.io', path: 'gcrxio' };
const name = (key: string, tag: string) => targetReference(target, key, tag);
const tags = [
  { repository: 'ns/pause', tag: '3.1', digest: digest('a') },
  { repository: 'ns/pause', tag: 'latest', digest: digest('b') },
  { repository: 'ns/sub/app', tag: 'v1', digest: digest('c') },
  { repository: 'ns/old', tag: '1', digest: digest('d') },
];
const record = (d: string, t: string) => ({ digest: d, target: t, syncedAt: '2026-01-01T00:00:00.000Z' });
const metadata = applyUpdates(undefined, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
  { repository: 'pause', tag: '3.1', record: record(digest('a'), 'docker.io/gcrxio/pause:3.1') },
  { repository: 'pause', tag: 'latest', record: record(digest('f'), 'docker.io/gcrxio/pause:latest') },
  { repository: 'old', tag: '1', record: record('', '') },
]);

describe('planSync', () => {
  it('plans new, moved and never-verified tags, and counts the rest as up to date', () => {
    const plan = planSync(tags, metadata, source, name);
    assert.equal(plan.upToDate, 1);
    assert.deepEqual(
      plan.items.map((i) => [i.key, i.tag, i.reason, `${i.target.registry}/${i.target.repository}:${i.target.tag}`]),
      [
        ['pause', 'latest', 'digest-changed', 'docker.io/gcrxio/pause:latest'],
        ['sub/app', 'v1', 'new', 'docker.io/gcrxio/sub_app:v1'],
        ['old', '1', 'unverified', 'docker.io/gcrxio/old:1'],
      ],
    );
  });
  it('plans everything when there is no metadata yet', () => {
    assert.equal(planSync(tags, undefined, source, name).items.length, tags.length);
  });
  it('refuses two sources that flatten onto one mirror name, naming both', () => {
    const clash = [
      { repository: 'ns/a/b', tag: '1', digest: digest('a') },
      { repository: 'ns/a_b', tag: '1', digest: digest('b') },
    ];
    const plan = planSync(clash, undefined, source, name);
    assert.equal(plan.items.length, 0);
    assert.equal(plan.problems.length, 1);
    assert.match(plan.problems[0]!.error.message, /gcr\.io\/ns\/a_b:1 and gcr\.io\/ns\/a\/b:1 both map to docker\.io\/gcrxio\/a_b:1/);
  });
  it('attaches digest tags to their image, and plans it again when its signature tags differ from the record', () => {
    const hex = 'a'.repeat(64);
    const listed = [
      { repository: 'ns/pause', tag: '3.1', digest: digest('a') },
      { repository: 'ns/pause', tag: `sha256-${hex}.sig`, digest: digest('e') },
      { repository: 'ns/pause', tag: `sha256-${hex}`, digest: digest('f') },
      { repository: 'ns/other', tag: `sha256-${hex}.sig`, digest: digest('e') },
    ];
    const digestTags = digestTagsByImage(listed);
    assert.deepEqual([...digestTags.keys()], [`ns/pause ${digest('a')}`, `ns/other ${digest('a')}`]);
    const signed = (signatures?: number) =>
      applyUpdates(undefined, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
        { repository: 'pause', tag: '3.1', record: { ...record(digest('a'), 'docker.io/gcrxio/pause:3.1'), ...(signatures !== undefined && { signatures }) } },
      ]);
    const image = [listed[0]!];
    const due = planSync(image, signed(), source, name, { digestTags });
    assert.deepEqual(due.items.map((i) => [i.reason, i.digestTags]), [['signatures-changed', [`sha256-${hex}.sig`, `sha256-${hex}`]]]);
    assert.equal(planSync(image, signed(1), source, name, { digestTags }).upToDate, 1, 'one .sig recorded, one listed');
    assert.equal(planSync(image, signed(1), source, name).items[0]?.reason, 'signatures-changed', 'the .sig is gone');
  });
  it('plans a tag recorded as not mirrorable schema1 again only when schema1 images are converted', () => {
    const skipped = applyUpdates(undefined, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
      { repository: 'pause', tag: '3.1', record: { ...record(digest('a'), ''), skipped: 'schema1' } },
    ]);
    const image = [tags[0]!];
    assert.equal(planSync(image, skipped, source, name).upToDate, 1);
    assert.equal(planSync(image, skipped, source, name, { schema1: 'skip' }).upToDate, 1);
    assert.equal(planSync(image, skipped, source, name, { schema1: 'convert' }).items[0]?.reason, 'new');
  });
  it('plans a record made for another mirror name or platform filter again as retargeted', () => {
    const one = [{ repository: 'ns/pause', tag: '3.1', digest: digest('a') }];
    const renamed = (key: string, tag: string) => targetReference({ registry: 'docker.io', path: 'other' }, key, tag);
    assert.deepEqual(planSync(one, metadata, source, renamed).items.map((i) => i.reason), ['retargeted']);
    const amd64 = applyUpdates(metadata, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
      { repository: 'pause', tag: '3.1', record: { ...record(digest('a'), 'docker.io/gcrxio/pause:3.1'), platforms: ['linux/amd64'] } },
    ]);
    assert.deepEqual(planSync(one, amd64, source, name, { platforms: ['linux/arm64'] }).items.map((i) => i.reason), ['retargeted']);
    const filtered = applyUpdates(metadata, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
      { repository: 'pause', tag: '3.1', record: { ...record(digest('a'), 'docker.io/gcrxio/pause:3.1'), platforms: ['linux/arm64'], platformFilter: ['linux/arm64'] } },
    ]);
    assert.equal(planSync(one, filtered, source, name, { platforms: ['linux/arm64'] }).upToDate, 1);
    assert.deepEqual(planSync(one, filtered, source, name).items.map((i) => i.reason), ['retargeted'], 'all platforms wanted now');
  });
  it('keeps a record from before platform filters were recorded when its platforms fit the filter', () => {
    const older = applyUpdates(metadata, { source: 'gcr.io/ns', target: 'docker.io/gcrxio' }, [
      { repository: 'pause', tag: '3.1', record: { ...record(digest('a'), 'docker.io/gcrxio/pause:3.1'), platforms: ['linux/arm/v7'] } },
    ]);
    const one = [{ repository: 'ns/pause', tag: '3.1', digest: digest('a') }];
    assert.equal(planSync(one, older, source, name, { platforms: ['linux/arm'] }).upToDate, 1);
    assert.equal(planSync(one, older, source, name, { platforms: ['linux/amd64'] }).items[0]?.reason, 'retargeted');
  });
  it('treats a tag named like an Object property as a plain tag', () => {
    const plan = planSync([{ repository: 'ns/pause', tag: 'constructor', digest: digest('a') }], metadata, source, name);
    assert.equal(plan.items[0]?.reason, 'new');
  });
});

describe('inShard', () => {
  const shardsOf = (key: string, count: number) => Array.from({ length: count }, (_, i) => i + 1).filter((index) => inShard(key, { index, count }));

  it('puts every repository in exactly one shard and spreads them', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `repo-${i}/sub`);
    for (const key of keys) assert.equal(shardsOf(key, 3).length, 1, key);
    const sizes = [1, 2, 3].map((index) => keys.filter((k) => inShard(k, { index, count: 3 })).length);
    for (const size of sizes) assert.ok(size > 70 && size < 130, `balanced: ${sizes.join(',')}`);
  });
  it('gives a repository the same shard on every run and machine (shard jobs already running depend on it)', () => {
    const pinned: Array<[string, number, number]> = [
      ['pause', 3, 4],
      ['sub/app', 3, 1],
      ['kube-apiserver', 1, 1],
      ['etcd', 2, 3],
      ['coredns/coredns', 3, 4],
    ];
    for (const [key, ofThree, ofFour] of pinned) {
      assert.deepEqual([shardsOf(key, 3), shardsOf(key, 4)], [[ofThree], [ofFour]], key);
    }
  });
  it('keeps every tag of a repository together', () => {
    const tags = ['1', '2', '3'].map((tag) => ({ repository: 'ns/app', tag, digest: digest('a') }));
    const counts = [1, 2].map((index) => planSync(tags, undefined, source, name, { shard: { index, count: 2 } }).items.length);
    assert.deepEqual(counts.sort(), [0, 3]);
  });
});
