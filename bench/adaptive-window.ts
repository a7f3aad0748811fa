/**
 * `node --import tsx bench/adaptive-window.ts` (after `npm run build`): the adaptive per-host window against a
 * fixed one, side by side on the same namespace, at 0 ms and 100 ms added round trip (a proxy holding every
 * request that long, in front of both source and target). "fixed" is the fixed pool of 32 requests per host that
 * came before the window (`GCRSYNC_CONNECTIONS=32`: the window starts at its cap and cannot grow); "adaptive" is the
 * default. Prints
 * first-run seconds, the most requests each proxy held at once, and fixed ÷ adaptive.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { gcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { stopAll } from '../test/support/processes.js';
import { startRegistry } from '../test/support/registry.js';
import { runGcrsync } from './contenders.js';
import { buildRealisticNamespace, type NamespaceShape } from './realistic-namespace.js';

const SHAPE: NamespaceShape = {
  namespace: 'window',
  repositories: 12,
  tagsPerRepository: 3,
  multiPlatformEvery: 4,
  baseLayerBytes: 2 << 20,
  repositoryLayerBytes: 512 << 10,
  tagLayerBytes: 128 << 10,
};
const ADDED_RTT_MS = [0, 100];
const MODES = { fixed: { GCRSYNC_CONNECTIONS: '32' }, adaptive: {} } as const;
// the default images at a time, and enough of them that the per-host window, not the image queue, is the limit
const IMAGES_AT_ONCE = [10, 36];

interface Row {
  rttMs: number;
  mode: keyof typeof MODES;
  images: number;
  seconds: number;
  sourcePeak: number;
  targetPeak: number;
  requests: number;
}

async function main(): Promise<void> {
  const scratchDir = await mkdtemp(join(tmpdir(), 'gcrsync-window-'));
  const source = await startRegistry();
  const rows: Row[] = [];
  try {
    const ns = await buildRealisticNamespace(source.url, SHAPE);
    const front = await gcrFront({ url: source.url }, { cacheListings: true });
    const modes = Object.keys(MODES) as Array<keyof typeof MODES>;
    const cases = ADDED_RTT_MS.flatMap((rttMs) => IMAGES_AT_ONCE.flatMap((images) => modes.map((mode) => ({ rttMs, images, mode }))));
    for (const { rttMs, images, mode } of cases) {
      const target = await startRegistry();
      const remote = await bareRemote();
      const sourceProxy = await startFaultProxy(front.url, { seed: 'source', rate: 0, latencyMs: rttMs });
      const targetProxy = await startFaultProxy(target.url, { seed: 'target', rate: 0, latencyMs: rttMs });
      try {
        const result = await runGcrsync({
          command: 'sync',
          source: `${sourceProxy.host}/${ns.namespace}`,
          target: `${targetProxy.host}/mirror`,
          metadataRepo: remote.url,
          transport: 'registry',
          scratchDir,
          settings: { ...MODES[mode], GCRSYNC_CONCURRENCY: String(images) },
        });
        if (result.report.planned.length !== ns.tagCount) throw new Error(`${mode} at ${rttMs} ms planned ${result.report.planned.length} of ${ns.tagCount}`);
        rows.push({
          rttMs,
          mode,
          images,
          seconds: result.seconds,
          sourcePeak: sourceProxy.peakInFlight(),
          targetPeak: targetProxy.peakInFlight(),
          requests: sourceProxy.stats().requests + targetProxy.stats().requests,
        });
        process.stderr.write(`${rttMs} ms ${images} images ${mode}: ${result.seconds.toFixed(2)} s\n`);
      } finally {
        await sourceProxy.stop();
        await targetProxy.stop();
        await remote.cleanup();
        await target.stop();
      }
    }
    await front.stop();
  } finally {
    await source.stop();
    await stopAll();
    await rm(scratchDir, { recursive: true, force: true });
  }
  console.log(`namespace: ${SHAPE.repositories} repositories × ${SHAPE.tagsPerRepository} tags, first run, registry transport`);
  console.log('added RTT  images  mode      seconds  peak in flight (source/target)  requests');
  for (const r of rows) {
    console.log(`${String(r.rttMs).padStart(6)} ms  ${String(r.images).padStart(6)}  ${r.mode.padEnd(8)}  ${r.seconds.toFixed(2).padStart(7)}  ${`${r.sourcePeak}/${r.targetPeak}`.padStart(30)}  ${String(r.requests).padStart(8)}`);
  }
  for (const rttMs of ADDED_RTT_MS) {
    for (const images of IMAGES_AT_ONCE) {
      const [fixed, adaptive] = (['fixed', 'adaptive'] as const).map((mode) => rows.find((r) => r.rttMs === rttMs && r.images === images && r.mode === mode)!);
      console.log(`${rttMs} ms, ${images} images at a time: fixed ÷ adaptive = ${(fixed.seconds / adaptive.seconds).toFixed(2)}x`);
    }
  }
}

await main();
