import { readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { startDockerd, type TestDockerd } from '../test/support/dockerd.js';
import { gcrFront, type GcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { runDockerLoop, runGcrsync, runSkopeoSync, type GcrsyncRun } from './contenders.js';
import { cpuSnapshot, cpuUsage, pidWithArgument } from './cpu.js';
import { walkListings } from './listing-walk.js';
import { peakRss, resetPeakRss, singleStreamUploadRate, type UploadRate } from './measure.js';
import { minimalCopy } from './minimal-copier.js';
import { buildRealisticNamespace, type BuiltNamespace, type NamespaceShape } from './realistic-namespace.js';
import { MB, type ContenderResult, type RunMeasurement } from './report.js';
import { verifyMirror, type ExpectedImage } from './verify.js';

export const REALISTIC_SHAPE: NamespaceShape = {
  namespace: 'bench',
  repositories: 40,
  tagsPerRepository: 6,
  multiPlatformEvery: 4,
  baseLayerBytes: 8 << 20,
  repositoryLayerBytes: 1 << 20,
  tagLayerBytes: 256 << 10,
};

const MIRROR_PREFIX = 'mirror';
const DOCKER_LOOP_CONCURRENCY = 10;
const MINIMAL_COPIER_IMAGES_AT_ONCE = 10;

export interface RealisticResult {
  namespace: Omit<BuiltNamespace, 'digests' | 'repositories'> & { repositories: number; nested: number; multiPlatform: number };
  buildSeconds: number;
  floor: UploadRate & { floorSeconds: number };
  contenders: ContenderResult[];
}

type Log = (line: string) => void;

/** What one timed run reports besides its CPU: the bench adds the CPU accounting around it. */
interface Timed {
  seconds: number;
  peakRssBytes: number;
  /** the contender's own CPU (GNU time), when it is a separate process */
  toolCpuSeconds?: number;
  daemonPeakRssBytes?: number;
  requests?: number;
}

/** The processes a run involves, so its CPU can be charged to each. */
interface Parts {
  source: number;
  target: number;
  dockerd?: number;
}

async function registryPid(registry: TestRegistry): Promise<number> {
  return pidWithArgument(join(dirname(registry.storageDir), 'config.yml'));
}

async function timed(parts: Parts, run: () => Promise<Timed>): Promise<RunMeasurement> {
  if (parts.dockerd !== undefined) await resetPeakRss(parts.dockerd);
  const before = await cpuSnapshot();
  const result = await run();
  const after = await cpuSnapshot();
  const roles: Record<string, number> = { source: parts.source, target: parts.target, ...(parts.dockerd !== undefined && { dockerd: parts.dockerd }) };
  return {
    seconds: result.seconds,
    peakRssBytes: result.peakRssBytes,
    cpu: cpuUsage(before, after, roles, result.toolCpuSeconds !== undefined ? { tool: result.toolCpuSeconds } : {}),
    ...(parts.dockerd !== undefined && { daemonPeakRssBytes: await peakRss(parts.dockerd) }),
    ...(result.requests !== undefined && { requests: result.requests }),
  };
}

function expectedAt(ns: BuiltNamespace, name: (path: string) => string, preservesDigests: boolean): ExpectedImage[] {
  return ns.repositories.flatMap((repository) =>
    ns.tags.map((tag) => ({
      repository: `${MIRROR_PREFIX}/${name(repository.path)}`,
      tag,
      ...(preservesDigests && { digest: ns.digests.get(`${repository.path}:${tag}`)! }),
    })),
  );
}

async function dockerdPid(dockerd: TestDockerd): Promise<number> {
  return Number((await readFile(join(dirname(dockerd.logFile), 'dockerd.pid'), 'utf8')).trim());
}

/** Leaves the daemon without images, so no contender starts with layers another one pulled. */
async function emptyDaemon(dockerd: TestDockerd): Promise<void> {
  for (const image of await dockerd.docker.listImages({ all: true })) {
    await dockerd.docker.getImage(image.Id).remove({ force: true });
  }
  const left = await dockerd.docker.listImages({ all: true });
  if (left.length > 0) throw new Error(`dockerd still holds ${left.length} images`);
}

/** A fresh target registry for one contender, stopped afterwards whatever happens. */
async function withTarget<T>(work: (target: TestRegistry, pid: number) => Promise<T>): Promise<T> {
  const target = await startRegistry();
  try {
    return await work(target, await registryPid(target));
  } finally {
    await target.stop();
  }
}

interface Setting {
  front: GcrFront;
  ns: BuiltNamespace;
  sourcePid: number;
  scratchDir: string;
  log: Log;
}

function gcrsyncContender(key: 'registry' | 'docker', { front, ns, sourcePid, scratchDir, log }: Setting, dockerd?: TestDockerd): Promise<ContenderResult> {
  return withTarget(async (target, targetPid) => {
    const remote = await bareRemote();
    try {
      const parts: Parts = { source: sourcePid, target: targetPid, ...(dockerd && { dockerd: await dockerdPid(dockerd) }) };
      const run: GcrsyncRun = {
        command: 'sync',
        source: `${front.host}/${ns.namespace}`,
        target: `${target.host}/${MIRROR_PREFIX}`,
        metadataRepo: remote.url,
        transport: key,
        scratchDir,
        ...(dockerd && { dockerHost: `unix://${dockerd.socketPath}` }),
      };
      let planned = 0;
      const once = () =>
        timed(parts, async () => {
          const result = await runGcrsync(run);
          planned = result.report.planned.length;
          return { seconds: result.seconds, peakRssBytes: result.peakRssBytes, toolCpuSeconds: result.cpuSeconds };
        });
      log(`gcrsync sync --transport ${key}: first run`);
      const first = await once();
      if (planned !== ns.tagCount) throw new Error(`gcrsync --transport ${key} planned ${planned} copies, the namespace has ${ns.tagCount} tags`);
      await verifyMirror(target.url, expectedAt(ns, (path) => path, key === 'registry'), `gcrsync --transport ${key}`);
      log(`gcrsync sync --transport ${key}: no-op rerun`);
      const noop = await once();
      if (planned !== 0) throw new Error(`the no-op rerun of gcrsync --transport ${key} planned ${planned} copies`);
      const bytes = key === 'registry' ? ns.uniqueBytes : ns.uniqueBytesFirstPlatform;
      return {
        key,
        label: `gcrsync --transport ${key}`,
        command: `node dist/cmd/gcrsync.js sync --source <front>/${ns.namespace} --target <target>/${MIRROR_PREFIX} --metadata-repo <bare remote> --transport ${key} --json`,
        first: { ...first, megabytesPerSecond: bytes / MB / first.seconds },
        noop,
      };
    } finally {
      await remote.cleanup();
    }
  });
}

function skopeoContender({ front, ns, sourcePid, scratchDir, log }: Setting): Promise<ContenderResult> {
  return withTarget(async (target, targetPid) => {
    const run = {
      sourceRegistry: front.host,
      repositories: ns.repositories.map((r) => `${ns.namespace}/${r.path}`),
      destination: `${target.host}/${MIRROR_PREFIX}`,
      scratchDir,
    };
    const once = () =>
      timed({ source: sourcePid, target: targetPid }, async () => {
        const result = await runSkopeoSync(run);
        return { seconds: result.seconds, peakRssBytes: result.peakRssBytes, toolCpuSeconds: result.cpuSeconds };
      });
    log('skopeo sync --all: first run');
    const first = await once();
    // skopeo keeps only the last path component of each repository
    await verifyMirror(target.url, expectedAt(ns, (path) => posix.basename(path), true), 'skopeo sync');
    log('skopeo sync --all: no-op rerun');
    const noop = await once();
    return {
      key: 'skopeo',
      label: 'skopeo sync --all',
      command: `skopeo sync --all --src yaml --dest docker --dest-tls-verify=false <yaml: ${ns.repositories.length} repositories, every tag, tls-verify false> <target>/${MIRROR_PREFIX}`,
      first: { ...first, megabytesPerSecond: ns.uniqueBytes / MB / first.seconds },
      noop,
    };
  });
}

function dockerLoopContender({ front, ns, sourcePid, scratchDir, log }: Setting, dockerd: TestDockerd): Promise<ContenderResult> {
  return withTarget(async (target, targetPid) => {
    const images = ns.repositories.flatMap((repository) =>
      ns.tags.map((tag) => ({
        source: `${front.host}/${ns.namespace}/${repository.path}:${tag}`,
        target: `${target.host}/${MIRROR_PREFIX}/${repository.path}:${tag}`,
      })),
    );
    const run = { images, dockerHost: `unix://${dockerd.socketPath}`, concurrency: DOCKER_LOOP_CONCURRENCY, scratchDir };
    const parts: Parts = { source: sourcePid, target: targetPid, dockerd: await dockerdPid(dockerd) };
    const once = () =>
      timed(parts, async () => {
        const result = await runDockerLoop(run);
        return { seconds: result.seconds, peakRssBytes: result.peakRssBytes, toolCpuSeconds: result.cpuSeconds };
      });
    log(`docker pull/tag/push/rmi loop ×${DOCKER_LOOP_CONCURRENCY}: first run`);
    const first = await once();
    await verifyMirror(target.url, expectedAt(ns, (path) => path, false), 'the docker CLI loop');
    log(`docker pull/tag/push/rmi loop ×${DOCKER_LOOP_CONCURRENCY}: rerun`);
    const noop = await once();
    return {
      key: 'dockerLoop',
      label: `docker CLI loop ×${DOCKER_LOOP_CONCURRENCY}`,
      command: `for each tag, ${DOCKER_LOOP_CONCURRENCY} at a time: docker pull <front>/…:tag; docker tag; docker push <target>/${MIRROR_PREFIX}/…:tag; docker rmi both`,
      first: { ...first, megabytesPerSecond: ns.uniqueBytesFirstPlatform / MB / first.seconds },
      noop,
    };
  });
}

function minimalCopierReference({ front, ns, sourcePid, log }: Setting): Promise<ContenderResult> {
  return withTarget(async (target, targetPid) => {
    const images = ns.repositories.flatMap((repository) =>
      ns.tags.map((tag) => ({ source: `${ns.namespace}/${repository.path}`, target: `${MIRROR_PREFIX}/${repository.path}`, tag })),
    );
    log(`reference: minimal copier, ${MINIMAL_COPIER_IMAGES_AT_ONCE} images at a time`);
    const first = await timed({ source: sourcePid, target: targetPid }, async () => {
      const started = performance.now();
      const { requests } = await minimalCopy(front.url, target.url, images, MINIMAL_COPIER_IMAGES_AT_ONCE);
      return { seconds: (performance.now() - started) / 1000, peakRssBytes: 0, requests };
    });
    await verifyMirror(target.url, expectedAt(ns, (path) => path, true), 'the minimal copier');
    return {
      key: 'minimal',
      label: 'reference: minimal copier',
      command: `in the bench process: GET manifest, each blob GET once + POST/PUT once (mounted elsewhere), PUT manifest; no checks; ${MINIMAL_COPIER_IMAGES_AT_ONCE} images at a time`,
      first: { ...first, megabytesPerSecond: ns.uniqueBytes / MB / first.seconds },
    };
  });
}

/**
 * The first case: one namespace, four contenders, each with its own fresh target registry (same
 * config), each run twice (the second is the no-op rerun), the floor from the target's upload rate, and a
 * minimal copier as the reference for what these registries on this machine allow.
 */
export async function runRealisticCase(scratchDir: string, log: Log): Promise<RealisticResult> {
  const source = await startRegistry();
  log('building the namespace in the source registry');
  const buildStarted = performance.now();
  const ns = await buildRealisticNamespace(source.url, REALISTIC_SHAPE);
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  const front = await gcrFront({ url: source.url }, { cacheListings: true });
  // every contender then gets listings from memory: the front's per-request computation is not on anyone's clock
  const warm = await walkListings(front.url, ns.namespace, 8);
  if (warm.tags !== ns.tagCount) throw new Error(`the front lists ${warm.tags} tags, the namespace has ${ns.tagCount}`);
  const setting: Setting = { front, ns, sourcePid: await registryPid(source), scratchDir, log };

  log('measuring the target registry single-stream upload rate');
  const floorRegistry = await startRegistry();
  const rate = await singleStreamUploadRate(floorRegistry.url);
  await floorRegistry.stop();

  const contenders: ContenderResult[] = [];
  contenders.push(await gcrsyncContender('registry', setting));
  contenders.push(await skopeoContender(setting));
  contenders.push(await minimalCopierReference(setting));
  const dockerd = await startDockerd();
  await emptyDaemon(dockerd);
  contenders.push(await gcrsyncContender('docker', setting, dockerd));
  await emptyDaemon(dockerd);
  contenders.push(await dockerLoopContender(setting, dockerd));
  await emptyDaemon(dockerd);
  await dockerd.stop();
  await front.stop();
  await source.stop();

  const { digests: _digests, repositories, ...counts } = ns;
  return {
    namespace: {
      ...counts,
      repositories: repositories.length,
      nested: repositories.filter((r) => r.path.includes('/')).length,
      multiPlatform: repositories.filter((r) => r.platforms.length > 1).length,
    },
    buildSeconds,
    floor: { ...rate, floorSeconds: ns.uniqueBytes / rate.bytesPerSecond },
    contenders,
  };
}
