import assert from 'node:assert/strict';
import { prefetchDrift, selectForVerify, verifyMirrors } from '../../src/reconcile/verify.js';
import type { NamespaceMetadata } from '../../src/store/schema.js';
import { inShard, type Plan, type PlanItem } from '../../src/reconcile/plan.js';
import type { RepositoryRef } from '../../src/registry/client.js';
import { createLogger } from '../../src/log.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const items = Array.from({ length: 300 }, (_, i) => ({
  item: {
    key: `repo${i}`,
    tag: 'v1',
    source: { registry: 'gcr.io', repository: `ns/repo${i}`, tag: 'v1' },
    target: { registry: 'docker.io', repository: `gcrxio/repo${i}`, tag: 'v1' },
    sourceName: `gcr.io/ns/repo${i}:v1`,
    targetName: `docker.io/gcrxio/repo${i}:v1`,
    sourceDigest: `sha256:${'a'.repeat(64)}`,
    reason: 'drifted',
  } satisfies PlanItem,
}));
const day = (n: number) => new Date(Date.UTC(2026, 11, 1) + n * 24 * 60 * 60 * 1000);

describe('selectForVerify', () => {
  it('checks every record once in 1/f consecutive days, about f of them each day', () => {
    const seen = new Map<string, number>();
    for (let n = 0; n < 7; n++) {
      const today = selectForVerify(items, 1 / 7, day(n));
      assert.ok(today.length > 20 && today.length < 70, `day ${n}: ${today.length}`);
      for (const { item } of today) seen.set(item.key, (seen.get(item.key) ?? 0) + 1);
    }
    assert.equal(seen.size, items.length, 'every record checked in a week');
    assert.ok([...seen.values()].every((times) => times === 1), 'and only once');
  });
  it('is the same share all day, and all or nothing for always / never', () => {
    const morning = new Date(Date.UTC(2026, 11, 3, 1));
    const evening = new Date(Date.UTC(2026, 11, 3, 23));
    assert.deepEqual(selectForVerify(items, 0.25, morning), selectForVerify(items, 0.25, evening));
    assert.equal(selectForVerify(items, 'always', morning).length, items.length);
    assert.equal(selectForVerify(items, 'never', morning).length, 0);
    assert.equal(selectForVerify(items, 1, morning).length, items.length);
  });
});

describe('verifyMirrors', () => {
  it('HEADs only records that claim a mirror: a not-mirrorable (schema1) record is never "gone" from the target', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const [mirrored, schema1] = items.slice(0, 2).map(({ item }) => item);
    const plan: Plan = {
      items: [],
      upToDate: 2,
      otherShards: 0,
      problems: [],
      current: [
        { item: mirrored!, record: { digest, syncedAt: '2026-12-01T00:00:00.000Z', target: 'docker.io/gcrxio/repo0:v1' } },
        { item: schema1!, record: { digest, syncedAt: '2026-12-01T00:00:00.000Z', target: 'docker.io/gcrxio/repo1:v1', skipped: 'schema1' } },
      ],
    };
    const headed: string[] = [];
    const headTarget = async (repo: RepositoryRef) => {
      headed.push(repo.repository);
      return repo.repository === 'gcrxio/repo0' ? { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 } : undefined;
    };
    const report: { verified?: { checked: number; drifted: number } } = {};
    await verifyMirrors({ headTarget, logger: createLogger({ level: 'error' }) }, { verify: 'always', queryLimit: 4, signal: UNINTERRUPTED }, plan, report);
    assert.deepEqual(headed, ['gcrxio/repo0']);
    assert.deepEqual(report.verified, { checked: 1, drifted: 0 });
    assert.equal(plan.items.length, 0);
    assert.equal(plan.upToDate, 2);
  });
});

describe('prefetchDrift', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const found = { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
  const metadata: NamespaceMetadata = {
    source: 'gcr.io/ns',
    target: 'docker.io/gcrxio',
    images: Object.fromEntries(items.map(({ item }) => [item.key, { v1: { digest, syncedAt: '2026-12-01T00:00:00.000Z', target: `docker.io/gcrxio/${item.key}:v1` } }])),
  };
  const logger = createLogger({ level: 'error' });
  const current = (): Plan => ({
    items: [],
    upToDate: items.length,
    otherShards: 0,
    problems: [],
    current: items.map(({ item }) => ({ item, record: metadata.images[item.key]!.v1! })),
  });

  it("HEADs today's share from the metadata alone, and the check after the plan HEADs nothing again", async () => {
    const headed: string[] = [];
    const headTarget = async (repo: RepositoryRef, reference: string) => {
      headed.push(`${repo.repository}:${reference}`);
      return found;
    };
    const settings = { verify: 1 / 7, queryLimit: 4, signal: UNINTERRUPTED };
    const now = () => day(3);
    const early = prefetchDrift(metadata, { headTarget, logger, now }, settings);
    // the HEADs go out before any plan exists
    await new Promise((resolve) => setTimeout(resolve, 20));
    const expected = selectForVerify(items, 1 / 7, day(3)).map(({ item }) => `${item.target.repository}:v1`);
    assert.deepEqual([...headed].sort(), [...expected].sort());
    const report: { verified?: { checked: number; drifted: number } } = {};
    await verifyMirrors({ headTarget, digestAtTarget: early.digestAt, logger, now }, settings, current(), report);
    early.discard();
    assert.equal(headed.length, expected.length, 'each mirror HEADed once');
    assert.deepEqual(report.verified, { checked: expected.length, drifted: 0 });
  });

  it("the check after the plan takes the prefetch's share, even once the clock has passed midnight", async () => {
    const headed: string[] = [];
    const headTarget = async (repo: RepositoryRef) => {
      headed.push(repo.repository);
      return found;
    };
    const settings = { verify: 1 / 7, queryLimit: 4, signal: UNINTERRUPTED };
    const early = prefetchDrift(metadata, { headTarget, logger, now: () => day(3) }, settings);
    const report: { verified?: { checked: number; drifted: number } } = {};
    await verifyMirrors({ headTarget, digestAtTarget: early.digestAt, logger, now: () => day(4) }, settings, current(), report, early.share);
    early.discard();
    const expected = selectForVerify(items, 1 / 7, day(3)).map(({ item }) => `gcrxio/${item.key}`);
    assert.deepEqual([...headed].sort(), [...expected].sort());
    assert.deepEqual(report.verified, { checked: expected.length, drifted: 0 });
  });

  it('feeds its queue as it drains, and HEADs a mirror asked for before its turn at once, and only then', async () => {
    const headed: string[] = [];
    const waiting: Array<() => void> = [];
    const headTarget = async (repo: RepositoryRef) => {
      headed.push(repo.repository);
      await new Promise<void>((resolve) => waiting.push(resolve));
      return found;
    };
    const early = prefetchDrift(metadata, { headTarget, logger }, { verify: 'always', queryLimit: 2, signal: UNINTERRUPTED });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(headed, ['gcrxio/repo0', 'gcrxio/repo1'], 'two in flight, the rest not queued yet');
    const last = early.digestAt({ registry: 'docker.io', repository: 'gcrxio/repo299' }, 'v1', digest, UNINTERRUPTED);
    assert.equal(headed.at(-1), 'gcrxio/repo299', 'asked before its turn: sent at once');
    for (let rounds = 0; headed.length < items.length && rounds < 1000; rounds++) {
      waiting.splice(0).forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    waiting.splice(0).forEach((release) => release());
    assert.deepEqual(await last, found);
    assert.equal(headed.length, items.length, 'every mirror once');
    assert.equal(new Set(headed).size, items.length);
    early.discard();
  });

  it("HEADs only this shard's records: the others are their own shard's to check", async () => {
    const headed: string[] = [];
    const headTarget = async (repo: RepositoryRef) => {
      headed.push(repo.repository);
      return found;
    };
    const shard = { index: 2, count: 3 };
    const early = prefetchDrift(metadata, { headTarget, logger }, { verify: 'always', queryLimit: 4, signal: UNINTERRUPTED, shard });
    await new Promise((resolve) => setTimeout(resolve, 20));
    early.discard();
    const mine = items.filter(({ item }) => inShard(item.key, shard)).map(({ item }) => `gcrxio/${item.key}`);
    assert.ok(mine.length > 50 && mine.length < 150, `${mine.length} of ${items.length}`);
    assert.deepEqual([...headed].sort(), [...mine].sort());
  });

  it('leaves a HEAD the budget held back to the check itself, and asks the target again for what it did not prefetch', async () => {
    const headed: string[] = [];
    const headTarget = async (repo: RepositoryRef) => {
      headed.push(repo.repository);
      return found;
    };
    let budgetLow = true;
    const early = prefetchDrift(metadata, { headTarget, logger }, { verify: 'always', queryLimit: 4, signal: UNINTERRUPTED, verifyStopReason: () => (budgetLow ? 'budget low' : undefined) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(headed, []);
    budgetLow = false;
    assert.deepEqual(await early.digestAt({ registry: 'docker.io', repository: 'gcrxio/repo7' }, 'v1', digest, UNINTERRUPTED), found);
    assert.deepEqual(await early.digestAt({ registry: 'docker.io', repository: 'gcrxio/elsewhere' }, 'v1', digest, UNINTERRUPTED), found);
    assert.deepEqual(headed, ['gcrxio/repo7', 'gcrxio/elsewhere']);
    early.discard();
  });
});

describe('verify: in the config file', () => {
  it('reads always, never, a fraction and a ratio, and refuses anything else', async () => {
    const { SETTINGS } = await import('../../src/config/schema.js');
    const parse = (text: string) => SETTINGS.verify.schema.safeParse(text);
    assert.equal(parse('always').data, 'always');
    assert.equal(parse('never').data, 'never');
    assert.equal(parse('0.25').data, 0.25);
    assert.equal(parse('1/7').data, 1 / 7);
    assert.equal(parse('1').data, 1);
    for (const bad of ['0', '1.5', '2/1', 'sometimes', '-0.1', '']) assert.equal(parse(bad).success, false, bad);
  });
});
