import type { JobOptions, JobsOptions } from '../config/job-options.js';
import { describeError, isGcrsyncError } from '../errors.js';
import { createPushHooks } from './hooks.js';
import { conflictError, findConflicts, planRuns, sourceName, type ImageListReader, type JobRun } from './plan.js';
import type { Logger } from '../log.js';
import type { Concurrency } from '../http/adaptive-concurrency.js';
import { DEFAULT_IMAGE_CONCURRENCY, type PushHooks } from '../reconcile/execute.js';
import type { VerifyPolicy } from '../reconcile/verify.js';
import { formatSummary } from '../reconcile/report.js';
import { startEarly } from '../reconcile/early.js';
import { readStatus, runCompare, runExitCode, runSync, stoppedRun, type MirrorStatus } from '../reconcile/run.js';
import type { EarlyStart, RunDeps, RunObserver, RunSettings } from '../reconcile/run-types.js';
import type { Reference } from '../ref/reference.js';
import type { ManifestDescriptor, RepositoryRef } from '../registry/client.js';
import { sourceLocation, type SourceSpec } from '../sources/index.js';
import type { Listing } from '../sources/source.js';
import type { JobsReport } from '../report/types.js';
import type { MetadataRepo } from '../store/metadata-repo.js';
import type { Transport } from '../transports/transport.js';

/**
 * Runs the jobs of a config file, planned by plan.ts: all sources are listed and every mirror name is checked
 * first; then the runs go one after another through the same sync/compare as a single source.
 */

export interface JobsDeps extends ImageListReader {
  logger: Logger;
  /** the metadata repo at a location (undefined = the repository of the working directory), opened once */
  metadataFor(location: string | undefined): Promise<MetadataRepo>;
  listSource(spec: SourceSpec, job: JobOptions, signal: AbortSignal): Promise<Listing>;
  headTarget(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<ManifestDescriptor | undefined>;
  /** the drift check's HEAD, with the digest expected at the target (see RegistryClient.headManifestDigest) */
  digestAtTarget?(repo: RepositoryRef, reference: string, expected: string, signal: AbortSignal): Promise<{ digest: string } | undefined>;
  /** the platforms of the image at a reference, [] when it is not there */
  platformsAt?(ref: Reference, signal: AbortSignal): Promise<string[]>;
  repositoryExists(repo: RepositoryRef, signal: AbortSignal): Promise<boolean>;
  /** the job's transport; the caller keeps the platform list in every copy request */
  createTransport(job: JobOptions): Transport | Promise<Transport>;
  /** images at a time for the job's runs (default: the job's `concurrency`, else 10) */
  imageConcurrency?(job: JobOptions): Concurrency;
  /** a reason to start no more images for this source (e.g. Docker Hub's pull budget) */
  stopReasonFor?(spec: SourceSpec, job: JobOptions): ((image: { children?: number }) => string | undefined) | undefined;
  /** a reason to HEAD no more mirrors at the job's target (a pull budget, Docker Hub's when the target is Hub) */
  targetStopReasonFor?(job: JobOptions): (() => string | undefined) | undefined;
  now?: () => Date;
  /** the environment hook commands inherit (default: this process's) */
  hookEnv?: NodeJS.ProcessEnv;
  /** follows every run's copies (the progress display) */
  observer?: RunObserver;
}

/** Keeps the job's platform list in every copy request, whatever the transport. */
function withPlatforms(transport: Transport, platforms: readonly string[]): Transport {
  if (platforms.length === 0) return transport;
  return {
    name: transport.name,
    copy: (request, signal) => transport.copy({ ...request, platforms: request.platforms ?? [...platforms] }, signal),
    close: () => transport.close(),
  };
}

export interface RunJobsOptions extends Pick<JobsOptions, 'dryRun' | 'shard' | 'maxDurationMs' | 'checkpoint' | 'configFile'> {
  command: 'sync' | 'compare';
  signal: AbortSignal;
  /** `sync --verify`: check every recorded mirror at the target (default: each job's own policy) */
  verify?: VerifyPolicy;
}

/**
 * Lists every run's source, checks the names of all of them, then syncs (or compares) run after run. When
 * there is one run its errors are thrown (exit 2, as a single-source command always did); with several, a
 * run that fails (unreachable source, corrupt metadata) is reported and the others go on.
 */
export async function runJobRuns(runs: readonly JobRun[], deps: JobsDeps, options: RunJobsOptions): Promise<JobsReport> {
  const report: JobsReport = { command: options.command, ...(options.configFile !== undefined && { configFile: options.configFile }), dryRun: options.dryRun, runs: [] };
  const single = runs.length === 1;
  const failed = (run: JobRun, error: unknown) => {
    if (single || isGcrsyncError(error, 'ABORTED')) throw error;
    deps.logger.error(`job ${run.job.name}: ${sourceName(run.spec)} failed`, { error: describeError(error) });
    report.runs.push({ job: run.job.name, source: sourceName(run.spec), error: describeError(error) });
  };

  // --max-duration counts from here, listing included: a listing still going at the deadline is cut off
  const deadline = options.maxDurationMs === undefined ? undefined : Date.now() + options.maxDurationMs;
  const listingTime = deadlineSignal(deadline, options.signal);
  // Clone the metadata repos while the sources are listed: a no-op run is mostly these two waits. A clone that
  // fails is reported when its run needs it; the catch here only keeps the early start from going unhandled.
  for (const run of runs) deps.metadataFor(run.job.metadataRepo).catch(() => undefined);
  // The first sync also reads its metadata and sends its drift check's HEADs meanwhile: they need only the clone.
  const first = options.command === 'sync' ? runs[0] : undefined;
  const early = first === undefined ? undefined : startEarlyRun(first, deps, options);
  early?.catch(() => undefined);
  const listed: Array<{ run: JobRun; listing: Listing }> = [];
  const unlisted: JobRun[] = [];
  try {
    try {
      for (const run of runs) {
        try {
          listed.push({ run, listing: await deps.listSource(run.spec, run.job, listingTime.signal) });
        } catch (error) {
          if (listingTime.expired()) unlisted.push(run);
          else failed(run, error);
        }
      }
    } finally {
      listingTime.dispose();
    }
    const conflicts = findConflicts(listed);
    if (conflicts.length > 0) throw conflictError(conflicts);

    for (const run of unlisted) {
      try {
        const runDeps = { logger: deps.logger, metadata: await deps.metadataFor(run.job.metadataRepo) };
        report.runs.push({ job: run.job.name, source: sourceName(run.spec), report: stoppedRun(options.command, runDeps, settingsFor(run, deps, options, deadline), STOPPED_WHILE_LISTING) });
      } catch (error) {
        failed(run, error);
      }
    }
    // each listing is handed to its run and let go: a big namespace's listing is not kept while its images are copied
    while (listed.length > 0) {
      const { run } = listed[0]!;
      let listing: Listing | undefined = listed.shift()!.listing;
      if (options.signal.aborted) break;
      try {
        const runDeps = await runDepsFor(run, deps, async (signal) => {
          const handed = listing ?? (await deps.listSource(run.spec, run.job, signal));
          listing = undefined;
          return handed;
        });
        if (run === first && early !== undefined) runDeps.early = early;
        const result = await (options.command === 'compare' ? runCompare : runSync)(runDeps, settingsFor(run, deps, options, deadline));
        report.runs.push({ job: run.job.name, source: sourceName(run.spec), report: result });
      } catch (error) {
        failed(run, error);
      }
    }
    return report;
  } finally {
    // a first run that never got to its drift check (its listing failed, a name conflict) leaves no HEAD behind
    void early?.then((started) => started.drift.discard(), () => undefined);
  }
}

const STOPPED_WHILE_LISTING = '--max-duration reached while listing';

/** A signal that fires at `deadline` (or with `signal`); `expired` tells the deadline apart from an interrupt. */
function deadlineSignal(deadline: number | undefined, signal: AbortSignal): { signal: AbortSignal; expired(): boolean; dispose(): void } {
  if (deadline === undefined) return { signal, expired: () => false, dispose: () => undefined };
  const timer = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  let disposed = false;
  return {
    signal: AbortSignal.any([signal, timer]),
    expired: () => !disposed && timer.aborted && !signal.aborted,
    dispose: () => {
      disposed = true;
    },
  };
}

/** The first run's metadata read and drift check, started before its listing is done (see startEarly). */
async function startEarlyRun(run: JobRun, deps: JobsDeps, options: RunJobsOptions): Promise<EarlyStart> {
  const verify = options.verify ?? run.job.verify;
  const verifyStopReason = deps.targetStopReasonFor?.(run.job);
  return startEarly(
    {
      logger: deps.logger,
      metadata: await deps.metadataFor(run.job.metadataRepo),
      headTarget: deps.headTarget,
      ...(deps.digestAtTarget !== undefined && { digestAtTarget: deps.digestAtTarget }),
      ...(deps.now !== undefined && { now: deps.now }),
    },
    {
      source: sourceLocation(run.spec),
      target: run.job.target,
      signal: options.signal,
      queryLimit: run.job.queryLimit,
      ...(verify !== undefined && { verify }),
      ...(verifyStopReason !== undefined && { verifyStopReason }),
      ...(options.shard !== undefined && { shard: options.shard }),
    },
  );
}

/** What one run talks to; `list` answers for its source (a listing made earlier, or a fresh one). */
async function runDepsFor(run: JobRun, deps: JobsDeps, list: (signal: AbortSignal) => Promise<Listing>): Promise<RunDeps> {
  return {
    logger: deps.logger,
    metadata: await deps.metadataFor(run.job.metadataRepo),
    listSource: (_source, signal) => list(signal),
    headTarget: deps.headTarget,
    ...(deps.digestAtTarget !== undefined && { digestAtTarget: deps.digestAtTarget }),
    ...(deps.platformsAt !== undefined && { platformsAt: deps.platformsAt }),
    createTransport: async () => withPlatforms(await deps.createTransport(run.job), run.job.platforms),
    ...(deps.now !== undefined && { now: deps.now }),
  };
}

/** `monitor`: source total / synced / waiting of every run, the metadata repos brought up to date first. */
export async function readRunStatus(runs: readonly JobRun[], deps: JobsDeps, signal: AbortSignal): Promise<Array<MirrorStatus & { job: string }>> {
  const repos = new Set<MetadataRepo>();
  for (const run of runs) repos.add(await deps.metadataFor(run.job.metadataRepo));
  for (const repo of repos) await repo.refresh(signal);
  const statuses: Array<MirrorStatus & { job: string }> = [];
  for (const run of runs) {
    const runDeps = await runDepsFor(run, deps, (s) => deps.listSource(run.spec, run.job, s));
    const settings = settingsFor(run, deps, { command: 'sync', dryRun: true, signal }, undefined);
    statuses.push({ job: run.job.name, ...(await readStatus(runDeps, settings)) });
  }
  return statuses;
}

function settingsFor(run: JobRun, deps: JobsDeps, options: RunJobsOptions, deadline: number | undefined): RunSettings {
  const hooks: PushHooks | undefined = createPushHooks(run.job.hooks, {
    job: run.job.name,
    logger: deps.logger,
    repositoryExists: deps.repositoryExists,
    ...(deps.hookEnv !== undefined && { baseEnv: deps.hookEnv }),
  });
  const stopReason = deps.stopReasonFor?.(run.spec, run.job);
  const verifyStopReason = deps.targetStopReasonFor?.(run.job);
  return {
    source: sourceLocation(run.spec),
    target: run.job.target,
    concurrency: deps.imageConcurrency?.(run.job) ?? run.job.concurrency ?? DEFAULT_IMAGE_CONCURRENCY,
    queryLimit: run.job.queryLimit,
    dryRun: options.dryRun,
    name: run.name,
    platforms: run.job.platforms,
    transport: run.job.transport,
    ...(run.selectTags !== undefined && { selectTags: run.selectTags }),
    signal: options.signal,
    ...(options.shard !== undefined && { shard: options.shard }),
    // one deadline for the whole command: each run gets what is left of it
    ...(deadline !== undefined && { maxDurationMs: Math.max(0, deadline - Date.now()) }),
    ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
    ...(hooks !== undefined && { hooks }),
    ...(stopReason !== undefined && { stopReason }),
    ...(verifyStopReason !== undefined && { verifyStopReason }),
    // --verify wins over the job's verify:
    ...((options.verify ?? run.job.verify) !== undefined && { verify: options.verify ?? run.job.verify }),
    ...(deps.observer !== undefined && { observer: deps.observer }),
    schema1: run.job.schema1,
  };
}

/** Every job of the options, planned and run. */
export async function runJobs(
  options: JobsOptions,
  command: 'sync' | 'compare',
  deps: JobsDeps,
  signal: AbortSignal,
  verify?: VerifyPolicy,
): Promise<JobsReport> {
  const runs = await planRuns(options.jobs, deps, signal);
  return runJobRuns(runs, deps, {
    command,
    ...(verify !== undefined && { verify }),
    dryRun: options.dryRun,
    ...(options.configFile !== undefined && { configFile: options.configFile }),
    ...(options.shard !== undefined && { shard: options.shard }),
    ...(options.maxDurationMs !== undefined && { maxDurationMs: options.maxDurationMs }),
    ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
    signal,
  });
}

/** 0 when every run finished clean; 1 when any image failed, any source could not be listed, or a run failed. */
export function jobsExitCode(report: JobsReport): number {
  return report.runs.some((r) => r.error !== undefined || (r.report !== undefined && runExitCode(r.report) !== 0)) ? 1 : 0;
}

/** The human summary: each run's summary under its job's name. */
export function formatJobsSummary(report: JobsReport): string {
  if (report.runs.length === 0) return `${report.command}: nothing to do`;
  return report.runs
    .map((r) => (r.report !== undefined ? `job ${r.job}: ${formatSummary(r.report)}` : `job ${r.job}: ${r.source}\n  failed          ${r.error ?? 'unknown error'}`))
    .join('\n');
}
