import { gcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { startRegistry } from '../test/support/registry.js';
import { runGcrsync, type GcrsyncRun } from './contenders.js';
import { cpuSnapshot, cpuUsage } from './cpu.js';
import { walkListings } from './listing-walk.js';
import { median } from './measure.js';
import { RSS_LIMIT_BYTES } from './report.js';
import { buildWideNamespace, type WideShape } from './wide-namespace.js';

export const WIDE_SHAPE: WideShape = { namespace: 'wide', repositories: 1000, tagsPerRepository: 10 };
export const WIDE_NOOP_LIMIT_SECONDS = 5;
const NOOP_RUNS = 3;

export interface WideResult {
  repositories: number;
  tags: number;
  buildSeconds: number;
  /** the bench filling the front's listing cache (the fixture's own cost, before anything is timed) */
  frontWarmSeconds: number;
  /** the bench reading every cached listing, 20 at a time: how much of a no-op run the fixture can account for */
  frontCachedWalkSeconds: number;
  compareSeconds: number;
  comparePeakRssBytes: number;
  noopSeconds: number[];
  noopMedianSeconds: number;
  noopPeakRssBytes: number;
  noopForeignCpuShare: number[];
  /** the no-op median is under WIDE_NOOP_LIMIT_SECONDS */
  pass: boolean;
  /** compare and every no-op stayed within RSS_LIMIT_BYTES */
  rssPass: boolean;
}

/**
 * The second case: a wide namespace whose metadata is already complete (bootstrapped with `compare`
 * against a target that holds the same images), then the no-op `sync` timed: listing plus diff, nothing copied.
 */
export async function runWideCase(scratchDir: string, log: (line: string) => void): Promise<WideResult> {
  const source = await startRegistry();
  const target = await startRegistry();
  const remote = await bareRemote();
  try {
    log(`building ${WIDE_SHAPE.repositories} repositories × ${WIDE_SHAPE.tagsPerRepository} tags in the source and the target`);
    const built = performance.now();
    const [wide] = await Promise.all([
      buildWideNamespace(source.url, WIDE_SHAPE.namespace, WIDE_SHAPE),
      buildWideNamespace(target.url, 'mirror', WIDE_SHAPE),
    ]);
    const buildSeconds = (performance.now() - built) / 1000;
    const front = await gcrFront({ url: source.url }, { cacheListings: true });
    const warm = await walkListings(front.url, WIDE_SHAPE.namespace, 32);
    if (warm.tags !== wide.tagCount) throw new Error(`the front lists ${warm.tags} tags, the namespace has ${wide.tagCount}`);
    const cached = await walkListings(front.url, WIDE_SHAPE.namespace, 20);

    const run: GcrsyncRun = {
      command: 'compare',
      source: `${front.host}/${WIDE_SHAPE.namespace}`,
      target: `${target.host}/mirror`,
      metadataRepo: remote.url,
      transport: 'registry',
      scratchDir,
    };
    log('gcrsync compare (bootstraps the metadata)');
    const compare = await runGcrsync(run);
    const recorded = compare.report.outcomes.filter((o) => o.status === 'already-present').length;
    if (recorded !== wide.tagCount || !compare.report.commit?.pushed) {
      throw new Error(`compare recorded ${recorded} of ${wide.tagCount} tags (commit ${JSON.stringify(compare.report.commit)})`);
    }
    const head = await remote.head();

    const noopSeconds: number[] = [];
    const noopForeignCpuShare: number[] = [];
    let noopPeakRssBytes = 0;
    for (let i = 1; i <= NOOP_RUNS; i++) {
      log(`gcrsync sync, no-op ${i} of ${NOOP_RUNS}`);
      const before = await cpuSnapshot();
      const noop = await runGcrsync({ ...run, command: 'sync' });
      noopForeignCpuShare.push(cpuUsage(before, await cpuSnapshot(), {}).foreignShare);
      const { sourceTags, upToDate, planned } = noop.report;
      if (sourceTags !== wide.tagCount || upToDate !== wide.tagCount || planned.length !== 0) {
        throw new Error(`the no-op sync listed ${sourceTags} tags, ${upToDate} up to date, ${planned.length} planned`);
      }
      noopSeconds.push(noop.seconds);
      noopPeakRssBytes = Math.max(noopPeakRssBytes, noop.peakRssBytes);
    }
    if ((await remote.head()) !== head) throw new Error('a no-op sync moved the metadata remote');
    await front.stop();
    const noopMedianSeconds = median(noopSeconds);
    return {
      repositories: wide.repositories.length,
      tags: wide.tagCount,
      buildSeconds,
      frontWarmSeconds: warm.seconds,
      frontCachedWalkSeconds: cached.seconds,
      compareSeconds: compare.seconds,
      comparePeakRssBytes: compare.peakRssBytes,
      noopSeconds,
      noopMedianSeconds,
      noopPeakRssBytes,
      noopForeignCpuShare,
      pass: noopMedianSeconds < WIDE_NOOP_LIMIT_SECONDS,
      rssPass: Math.max(compare.peakRssBytes, noopPeakRssBytes) <= RSS_LIMIT_BYTES,
    };
  } finally {
    await source.stop();
    await target.stop();
    await remote.cleanup();
  }
}
