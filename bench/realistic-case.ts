import { readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { startDockerd, type TestDockerd } from '../test/support/dockerd.js';
import { gcrFront, type GcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { runDockerLoop, runGcrsync, runSkopeoSync, type GcrsyncRun } from './contenders.js';
import { cpuSnapshot, foreignShare } from './cpu.js';
import { walkListings } from './listing-walk.js';
import { peakRss, resetPeakRss, singleStreamUploadRate, type UploadRate } from './measure.js';
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

export interface RealisticResult {
  namespace: Omit<BuiltNamespace, 'digests' | 'repositories'> & { repositories: number; nested: number; multiPlatform: number };
  buildSeconds: number;
  floor: UploadRate & { floorSeconds: number };
  contenders: ContenderResult[];
}

interface Log {
  (line: string): void;
}

/** Runs `work` and reports how much of the machine others used meanwhile. */
async function observed<T>(work: () => Promise<T>): Promise<{ value: T; foreignCpuShare: number }> {
  const before = await cpuSnapshot();
  const value = await work();
  return { value, foreignCpuShare: foreignShare(before, await cpuSnapshot()) };
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

async function gcrsyncContender(
  key: 'registry' | 'docker',
  front: GcrFront,
  ns: BuiltNamespace,
  scratchDir: string,
  log: Log,
  dockerd?: TestDockerd,
): Promise<ContenderResult> {
  const target = await startRegistry();
  const remote = await bareRemote();
  const pid = dockerd ? await dockerdPid(dockerd) : undefined;
  try {
    const run: GcrsyncRun = {
      command: 'sync',
      source: `${front.host}/${ns.namespace}`,
      target: `${target.host}/${MIRROR_PREFIX}`,
      metadataRepo: remote.url,
      transport: key,
      scratchDir,
      ...(dockerd && { dockerHost: `unix://${dockerd.socketPath}` }),
    };
    const once = async (): Promise<RunMeasurement & { planned: number }> => {
      if (pid !== undefined) await resetPeakRss(pid);
      const { value, foreignCpuShare } = await observed(() => runGcrsync(run));
      return {
        seconds: value.seconds,
        peakRssBytes: value.peakRssBytes,
        foreignCpuShare,
        planned: value.report.planned.length,
        ...(pid !== undefined && { daemonPeakRssBytes: await peakRss(pid) }),
      };
    };
    log(`gcrsync sync --transport ${key}: first run`);
    const first = await once();
    if (first.planned !== ns.tagCount) throw new Error(`gcrsync --transport ${key} planned ${first.planned} copies, the namespace has ${ns.tagCount} tags`);
    await verifyMirror(target.url, expectedAt(ns, (path) => path, key === 'registry'), `gcrsync --transport ${key}`);
    log(`gcrsync sync --transport ${key}: no-op rerun`);
    const noop = await once();
    if (noop.planned !== 0) throw new Error(`the no-op rerun of gcrsync --transport ${key} planned ${noop.planned} copies`);
    const bytes = key === 'registry' ? ns.uniqueBytes : ns.uniqueBytesFirstPlatform;
    return {
      key,
      label: `gcrsync --transport ${key}`,
      command: `node dist/cmd/gcrsync.js sync --source <front>/${ns.namespace} --target <target>/${MIRROR_PREFIX} --metadata-repo <bare remote> --transport ${key} --json`,
      first: { ...strip(first), megabytesPerSecond: bytes / MB / first.seconds },
      noop: strip(noop),
    };
  } finally {
    await target.stop();
    await remote.cleanup();
  }
}

function strip({ planned: _planned, ...measurement }: RunMeasurement & { planned: number }): RunMeasurement {
  return measurement;
}

async function skopeoContender(front: GcrFront, ns: BuiltNamespace, scratchDir: string, log: Log): Promise<ContenderResult> {
  const target = await startRegistry();
  try {
    const run = {
      sourceRegistry: front.host,
      repositories: ns.repositories.map((r) => `${ns.namespace}/${r.path}`),
      destination: `${target.host}/${MIRROR_PREFIX}`,
      scratchDir,
    };
    log('skopeo sync --all: first run');
    const first = await observed(() => runSkopeoSync(run));
    // skopeo keeps only the last path component of each repository
    await verifyMirror(target.url, expectedAt(ns, (path) => posix.basename(path), true), 'skopeo sync');
    log('skopeo sync --all: no-op rerun');
    const noop = await observed(() => runSkopeoSync(run));
    return {
      key: 'skopeo',
      label: 'skopeo sync --all',
      command: `skopeo sync --all --src yaml --dest docker --dest-tls-verify=false <yaml: ${ns.repositories.length} repositories, all tags, tls-verify false> <target>/${MIRROR_PREFIX}`,
      first: {
        seconds: first.value.seconds,
        megabytesPerSecond: ns.uniqueBytes / MB / first.value.seconds,
        peakRssBytes: first.value.peakRssBytes,
        foreignCpuShare: first.foreignCpuShare,
      },
      noop: { seconds: noop.value.seconds, peakRssBytes: noop.value.peakRssBytes, foreignCpuShare: noop.foreignCpuShare },
    };
  } finally {
    await target.stop();
  }
}

async function dockerLoopContender(front: GcrFront, ns: BuiltNamespace, dockerd: TestDockerd, scratchDir: string, log: Log): Promise<ContenderResult> {
  const target = await startRegistry();
  const pid = await dockerdPid(dockerd);
  try {
    const images = ns.repositories.flatMap((repository) =>
      ns.tags.map((tag) => ({
        source: `${front.host}/${ns.namespace}/${repository.path}:${tag}`,
        target: `${target.host}/${MIRROR_PREFIX}/${repository.path}:${tag}`,
      })),
    );
    const run = { images, dockerHost: `unix://${dockerd.socketPath}`, concurrency: DOCKER_LOOP_CONCURRENCY, scratchDir };
    const once = async (): Promise<RunMeasurement> => {
      await resetPeakRss(pid);
      const { value, foreignCpuShare } = await observed(() => runDockerLoop(run));
      return { seconds: value.seconds, peakRssBytes: value.peakRssBytes, foreignCpuShare, daemonPeakRssBytes: await peakRss(pid) };
    };
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
  } finally {
    await target.stop();
  }
}

/**
 * The first case: one namespace, four contenders, each with its own fresh target registry (same
 * config), each run twice (the second is the no-op rerun), plus the floor from the target's upload rate.
 */
export async function runRealisticCase(scratchDir: string, log: Log): Promise<RealisticResult> {
  const source: TestRegistry = await startRegistry();
  log('building the namespace in the source registry');
  const buildStarted = performance.now();
  const ns = await buildRealisticNamespace(source.url, REALISTIC_SHAPE);
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  const front = await gcrFront(source, { cacheListings: true });
  // every contender then gets listings from memory: the front's per-request computation is not on anyone's clock
  const warm = await walkListings(front.url, ns.namespace, 8);
  if (warm.tags !== ns.tagCount) throw new Error(`the front lists ${warm.tags} tags, the namespace has ${ns.tagCount}`);

  log('measuring the target registry single-stream upload rate');
  const floorRegistry = await startRegistry();
  const rate = await singleStreamUploadRate(floorRegistry.url);
  await floorRegistry.stop();

  const contenders: ContenderResult[] = [];
  contenders.push(await gcrsyncContender('registry', front, ns, scratchDir, log));
  contenders.push(await skopeoContender(front, ns, scratchDir, log));
  const dockerd = await startDockerd();
  await emptyDaemon(dockerd);
  contenders.push(await gcrsyncContender('docker', front, ns, scratchDir, log, dockerd));
  await emptyDaemon(dockerd);
  contenders.push(await dockerLoopContender(front, ns, dockerd, scratchDir, log));
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
