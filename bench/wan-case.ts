import { posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gcrFront, type GcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { runGcrsync, runSkopeoSync } from './contenders.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { walkListings } from './listing-walk.js';
import { minimalCopy } from './minimal-copier.js';
import { buildRealisticNamespace, type BuiltNamespace, type NamespaceShape } from './realistic-namespace.js';
import { addCounts, startRequestCounter, total, type RequestCounter, type RequestCounts } from './request-kinds.js';
import { verifyMirror } from './verify.js';

/**
 * The far-away case: the same kind of namespace as the loopback case, behind a proxy that adds a round-trip
 * time to every chunk in each direction, in front of the source and of the target. skopeo sync --all, gcrsync and
 * the minimal copier run side by side in the same bench run, each against its own fresh target. The namespaces are
 * the issue's: at 20 ms the loopback case's shape (40 repositories × 6 tags, 8 nested, 10 two-platform indexes), at
 * 100 ms 6 × 6 = 36 tags, with small layers (only round trips are measured here, not bytes). skopeo waits for every
 * round trip of every image in turn, so its time grows with the tag count and these two sizes take most of the
 * bench's minutes.
 */
export interface WanSetting {
  rttMs: number;
  shape: NamespaceShape;
  /** skopeo's no-op rerun costs as much as a third of its first run: timed only where a target asks for it */
  skopeoNoop: boolean;
}

const SMALL_LAYERS = { baseLayerBytes: 1 << 20, repositoryLayerBytes: 256 << 10, tagLayerBytes: 64 << 10, multiPlatformEvery: 4 };
export const WAN_SETTINGS: WanSetting[] = [
  { rttMs: 20, shape: { namespace: 'wan20', repositories: 40, tagsPerRepository: 6, ...SMALL_LAYERS }, skopeoNoop: true },
  { rttMs: 100, shape: { namespace: 'wan100', repositories: 6, tagsPerRepository: 6, ...SMALL_LAYERS }, skopeoNoop: false },
];

const MIRROR_PREFIX = 'mirror';
const LISTING_KINDS = ['tags', 'catalog'] as const;
const MINIMAL_COPIER_IMAGES_AT_ONCE = 10;

export interface WanRun {
  seconds: number;
  /** requests seen at the source and target proxies together, by kind */
  requests: RequestCounts;
  /** the source's listing requests among them (tags/list, _catalog): the minimal copier is handed its image list */
  sourceListing: number;
}

export interface WanResult {
  rttMs: number;
  repositories: number;
  tags: number;
  manifests: number;
  blobs: number;
  gcrsync: { first: WanRun; noop: WanRun };
  skopeo: { first: WanRun; noop?: WanRun };
  minimal: { first: WanRun };
}

type Log = (line: string) => void;

/** A source or target as a client far away sees it: delay proxy → recording proxy → the real thing. */
interface FarEnd {
  delay: DelayProxy;
  counter: RequestCounter;
  stop(): Promise<void>;
}

async function farEnd(url: string, rttMs: number): Promise<FarEnd> {
  const counter = await startRequestCounter(url);
  const delay = await startDelayProxy(counter.host, rttMs);
  return {
    delay,
    counter,
    stop: async () => {
      await delay.stop();
      await counter.stop();
    },
  };
}

/** Runs `work` with a fresh, far-away target, removed afterwards. */
async function withFarTarget<T>(rttMs: number, work: (target: FarEnd, registry: TestRegistry) => Promise<T>): Promise<T> {
  const registry = await startRegistry();
  const target = await farEnd(registry.url, rttMs);
  try {
    return await work(target, registry);
  } finally {
    await target.stop();
    await registry.stop();
  }
}

async function counted(source: FarEnd, target: FarEnd, run: () => Promise<number>): Promise<WanRun> {
  const [s, t] = [source.counter.mark(), target.counter.mark()];
  const seconds = await run();
  const atSource = source.counter.since(s);
  return { seconds, requests: addCounts(atSource, target.counter.since(t)), sourceListing: total(atSource) - total(atSource, LISTING_KINDS) };
}

const expected = (ns: BuiltNamespace, name: (path: string) => string) =>
  ns.repositories.flatMap((repository) =>
    ns.tags.map((tag) => ({ repository: `${MIRROR_PREFIX}/${name(repository.path)}`, tag, digest: ns.digests.get(`${repository.path}:${tag}`)! })),
  );

async function runAt(setting: WanSetting, front: GcrFront, ns: BuiltNamespace, scratchDir: string, log: Log): Promise<WanResult> {
  const source = await farEnd(front.url, setting.rttMs);
  try {
    const at = `${setting.rttMs} ms`;
    const gcrsync = await withFarTarget(setting.rttMs, async (target, registry) => {
      const remote = await bareRemote();
      try {
        const run = {
          command: 'sync' as const,
          source: `${source.delay.host}/${ns.namespace}`,
          target: `${target.delay.host}/${MIRROR_PREFIX}`,
          metadataRepo: remote.url,
          transport: 'registry' as const,
          scratchDir,
        };
        log(`${at}: gcrsync sync: first run`);
        const first = await counted(source, target, async () => {
          const result = await runGcrsync(run);
          if (result.report.planned.length !== ns.tagCount) throw new Error(`gcrsync planned ${result.report.planned.length} of ${ns.tagCount} tags`);
          return result.seconds;
        });
        await verifyMirror(registry.url, expected(ns, (p) => p), `gcrsync at ${at}`);
        log(`${at}: gcrsync sync: no-op rerun`);
        const noop = await counted(source, target, async () => {
          const result = await runGcrsync(run);
          if (result.report.planned.length !== 0) throw new Error(`the no-op rerun planned ${result.report.planned.length} copies`);
          return result.seconds;
        });
        return { first, noop };
      } finally {
        await remote.cleanup();
      }
    });
    const skopeo = await withFarTarget(setting.rttMs, async (target, registry) => {
      const run = {
        sourceRegistry: source.delay.host,
        repositories: ns.repositories.map((r) => `${ns.namespace}/${r.path}`),
        destination: `${target.delay.host}/${MIRROR_PREFIX}`,
        scratchDir,
      };
      log(`${at}: skopeo sync --all: first run`);
      const first = await counted(source, target, async () => (await runSkopeoSync(run)).seconds);
      await verifyMirror(registry.url, expected(ns, (p) => posix.basename(p)), `skopeo at ${at}`);
      if (!setting.skopeoNoop) return { first };
      log(`${at}: skopeo sync --all: no-op rerun`);
      const noop = await counted(source, target, async () => (await runSkopeoSync(run)).seconds);
      return { first, noop };
    });
    const minimal = await withFarTarget(setting.rttMs, async (target, registry) => {
      const images = ns.repositories.flatMap((r) => ns.tags.map((tag) => ({ source: `${ns.namespace}/${r.path}`, target: `${MIRROR_PREFIX}/${r.path}`, tag })));
      log(`${at}: reference: minimal copier`);
      const first = await counted(source, target, async () => {
        const started = performance.now();
        await minimalCopy(source.delay.url, target.delay.url, images, MINIMAL_COPIER_IMAGES_AT_ONCE);
        return (performance.now() - started) / 1000;
      });
      await verifyMirror(registry.url, expected(ns, (p) => p), `the minimal copier at ${at}`);
      return { first };
    });
    return {
      rttMs: setting.rttMs,
      repositories: ns.repositories.length,
      tags: ns.tagCount,
      manifests: ns.manifestCount,
      blobs: ns.blobCount,
      gcrsync,
      skopeo,
      minimal,
    };
  } finally {
    await source.stop();
  }
}

export async function runWanCase(scratchDir: string, log: Log): Promise<WanResult[]> {
  const registry = await startRegistry();
  try {
    const built = await Promise.all(WAN_SETTINGS.map((setting) => buildRealisticNamespace(registry.url, setting.shape)));
    const front = await gcrFront({ url: registry.url }, { cacheListings: true });
    try {
      const results: WanResult[] = [];
      for (const [i, setting] of WAN_SETTINGS.entries()) {
        const ns = built[i]!;
        // the front computes each listing once, before anything is timed
        const warm = await walkListings(front.url, ns.namespace, 8);
        if (warm.tags !== ns.tagCount) throw new Error(`the front lists ${warm.tags} tags of ${ns.namespace}, it has ${ns.tagCount}`);
        results.push(await runAt(setting, front, ns, scratchDir, log));
      }
      return results;
    } finally {
      await front.stop();
    }
  } finally {
    await registry.stop();
  }
}

/** Requests of a copy, not of the source listing: the minimal copier is handed the list of images, gcrsync reads it. */
export const copyRequests = (run: WanRun) => total(run.requests) - run.sourceListing;
