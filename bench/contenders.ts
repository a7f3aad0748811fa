import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { eachLimit } from './registry-api.js';
import { measure, type Measured } from './measure.js';

/** The built CLI (`npm run bench` builds it first), run the way a user runs it. */
export const GCRSYNC_ENTRY = fileURLToPath(new URL('../dist/cmd/gcrsync.js', import.meta.url));

export interface GcrsyncRun {
  command: 'sync' | 'compare';
  /** `host:port/namespace` of the listing front */
  source: string;
  /** `host:port/prefix` */
  target: string;
  metadataRepo: string;
  transport: 'registry' | 'docker';
  /** DOCKER_HOST for the docker transport */
  dockerHost?: string;
  scratchDir: string;
  /** GCRSYNC_* settings for this run */
  settings?: Record<string, string>;
}

export interface GcrsyncReport {
  sourceTags: number;
  upToDate: number;
  planned: unknown[];
  outcomes: Array<{ status: string; error?: string }>;
  problems: unknown[];
  commit?: { committed: boolean; pushed: boolean };
}

/** The environment every contender runs in: no user config, an empty Docker config, the same PATH. */
export function cleanEnv(scratchDir: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: scratchDir,
    DOCKER_CONFIG: join(scratchDir, 'docker-config'),
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}

export async function runGcrsync(run: GcrsyncRun): Promise<Measured & { report: GcrsyncReport }> {
  const args = [
    GCRSYNC_ENTRY,
    run.command,
    '--source', run.source,
    '--target', run.target,
    '--metadata-repo', run.metadataRepo,
    '--transport', run.transport,
    '--json',
  ];
  const measured = await measure(process.execPath, args, {
    scratchDir: run.scratchDir,
    env: cleanEnv(run.scratchDir, { ...run.settings, ...(run.dockerHost !== undefined && { DOCKER_HOST: run.dockerHost }) }),
  });
  if (measured.code !== 0) {
    throw new Error(`gcrsync ${run.command} --transport ${run.transport} exited ${measured.code}:\n${measured.stderr.slice(-3000)}`);
  }
  const report = JSON.parse(measured.stdout) as GcrsyncReport;
  const failed = report.outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0 || report.problems.length > 0) {
    throw new Error(`gcrsync ${run.command} reported ${failed.length} failures and ${report.problems.length} problems: ${JSON.stringify([...failed, ...report.problems]).slice(0, 2000)}`);
  }
  return { ...measured, report };
}

export interface SkopeoRun {
  /** `host:port` of the source registry */
  sourceRegistry: string;
  /** repository paths (namespace included) to sync with all their tags */
  repositories: string[];
  /** `host:port/prefix` */
  destination: string;
  scratchDir: string;
}

/**
 * `skopeo sync --all --src yaml`: one process for the whole namespace (an empty tag list means every tag), so
 * skopeo pays its start-up, registry ping and blob-info cache warm-up once rather than once per repository.
 * skopeo names the copy `<destination>/<last path component>:<tag>`.
 */
export async function runSkopeoSync(run: SkopeoRun): Promise<Measured> {
  const config = join(run.scratchDir, 'skopeo-sync.yaml');
  const images = run.repositories.map((repository) => `    ${repository}: []`).join('\n');
  await writeFile(config, `${run.sourceRegistry}:\n  tls-verify: false\n  images:\n${images}\n`);
  const measured = await measure(
    'skopeo',
    ['sync', '--all', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', config, run.destination],
    { scratchDir: run.scratchDir, env: cleanEnv(run.scratchDir, { XDG_RUNTIME_DIR: run.scratchDir }) },
  );
  if (measured.code !== 0) throw new Error(`skopeo sync exited ${measured.code}:\n${measured.stderr.slice(-3000)}`);
  return measured;
}

export interface DockerLoopRun {
  /** `host:port/namespace/path:tag` → `host:port/prefix/path:tag` */
  images: Array<{ source: string; target: string }>;
  dockerHost: string;
  concurrency: number;
  scratchDir: string;
}

export interface DockerLoopResult {
  seconds: number;
  /** the biggest peak RSS of any docker CLI process */
  peakRssBytes: number;
  /** CPU of all docker CLI processes together */
  cpuSeconds: number;
  commands: number;
}

/** What a shell script around the docker CLI does: pull, tag, push, rmi for every tag, `concurrency` at a time. */
export async function runDockerLoop(run: DockerLoopRun): Promise<DockerLoopResult> {
  const env = cleanEnv(run.scratchDir, { DOCKER_HOST: run.dockerHost });
  let peakRssBytes = 0;
  let cpuSeconds = 0;
  let commands = 0;
  const docker = async (...args: string[]) => {
    const result = await measure('docker', args, { scratchDir: run.scratchDir, env });
    commands++;
    peakRssBytes = Math.max(peakRssBytes, result.peakRssBytes);
    cpuSeconds += result.cpuSeconds;
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  };
  const started = performance.now();
  await eachLimit(run.images, run.concurrency, async ({ source, target }) => {
    await docker('pull', '--quiet', source);
    await docker('tag', source, target);
    await docker('push', '--quiet', target);
    await docker('rmi', source, target);
  });
  return { seconds: (performance.now() - started) / 1000, peakRssBytes, cpuSeconds, commands };
}
