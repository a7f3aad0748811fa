import type { JobOptions, JobsOptions } from '../config/settings.js';
import { describeError, GcrsyncError, isGcrsyncError } from '../errors.js';
import { compileTagFilter, type TagSelector } from '../config/filters.js';
import { createPushHooks } from './hooks.js';
import type { Logger } from '../log.js';
import type { PushHooks } from '../reconcile/execute.js';
import type { MirrorNamer } from '../reconcile/plan.js';
import { formatSummary } from '../reconcile/report.js';
import { readStatus, runCompare, runExitCode, runSync, type MirrorStatus, type RunDeps, type RunObserver, type RunSettings } from '../reconcile/run.js';
import { createMirrorNamer, relativeRepository } from '../ref/naming.js';
import { formatReference, type Reference } from '../ref/reference.js';
import type { ManifestDescriptor, RepositoryRef } from '../registry/client.js';
import { groupByNamespace, sourceLocation, type SourceSpec } from '../sources/index.js';
import type { Listing } from '../sources/source.js';
import type { JobsReport } from '../report/types.js';
import type { MetadataRepo } from '../store/metadata-repo.js';
import type { Transport } from '../transports/transport.js';

/**
 * Runs the jobs of a config file: every job's sources become one run per source namespace (that is where the
 * metadata lives). All sources are listed and every mirror name is computed first; two sources that map to
 * one target (in one job or across jobs) stop the command before anything is copied, naming both. Then the
 * runs go one after another through the same sync/compare as a single source.
 */

export interface JobsDeps {
  logger: Logger;
  /** the metadata repo at a location (undefined = the repository of the working directory), opened once */
  metadataFor(location: string | undefined): Promise<MetadataRepo>;
  listSource(spec: SourceSpec, job: JobOptions, signal?: AbortSignal): Promise<Listing>;
  loadImageList(file: string, signal?: AbortSignal): Promise<Reference[]>;
  headTarget(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<ManifestDescriptor | undefined>;
  repositoryExists(repo: RepositoryRef, signal?: AbortSignal): Promise<boolean>;
  /** the job's transport; the caller keeps the platform list in every copy request */
  createTransport(job: JobOptions): Transport | Promise<Transport>;
  /** a reason to start no more images for this source (e.g. Docker Hub's pull budget) */
  stopReasonFor?(spec: SourceSpec, job: JobOptions): (() => string | undefined) | undefined;
  now?: () => Date;
  /** the environment hook commands inherit (default: this process's) */
  hookEnv?: NodeJS.ProcessEnv;
  /** follows every run's copies (the progress display) */
  observer?: RunObserver;
}

/** One source namespace of one job, with the rules it is mirrored by. */
export interface JobRun {
  job: JobOptions;
  spec: SourceSpec;
  name: MirrorNamer;
  /** undefined: every listed tag (a single `copy` is not filtered) */
  selectTags?: TagSelector;
}

function sourceName(spec: SourceSpec): string {
  return spec.namespace === '' ? spec.registry : `${spec.registry}/${spec.namespace}`;
}

/** A job's sources as one spec per namespace: image lists are read and grouped with the inline images. */
async function expandSources(job: JobOptions, deps: Pick<JobsDeps, 'loadImageList'>, signal?: AbortSignal): Promise<SourceSpec[]> {
  const specs: SourceSpec[] = [];
  const images: Reference[] = [];
  for (const source of job.sources) {
    if (source.kind === 'spec') specs.push(source.spec);
    else if (source.kind === 'images') images.push(...source.references);
    else images.push(...(await deps.loadImageList(source.file, signal)));
  }
  return [...specs, ...(images.length > 0 ? groupByNamespace(images) : [])];
}

/** The runs of the jobs, in file order: one per source namespace of each job. */
export async function planRuns(jobs: readonly JobOptions[], deps: Pick<JobsDeps, 'loadImageList'>, signal?: AbortSignal): Promise<JobRun[]> {
  const runs: JobRun[] = [];
  for (const job of jobs) {
    const selectTags = compileTagFilter(job.filters);
    for (const spec of await expandSources(job, deps, signal)) {
      runs.push({ job, spec, name: createMirrorNamer(sourceLocation(spec), job.target, job.naming), selectTags });
    }
  }
  return runs;
}

interface Claim {
  source: string;
  job: string;
}

interface Recorded extends Claim {
  target: string;
}

const MAX_LISTED_CONFLICTS = 20;

/**
 * The check that must pass before anything is copied, over every run's listing: no two source tags map to
 * one target, and no source tag is mirrored by two runs that share a metadata file (the second would read
 * the first one's record as its own and never copy). Returns the conflicts, one line each.
 */
export function findConflicts(runs: ReadonlyArray<{ run: JobRun; listing: Listing }>): string[] {
  const targets = new Map<string, Claim>();
  const recorded = new Map<string, Recorded>();
  const conflicts: string[] = [];
  for (const { run, listing } of runs) {
    const location = sourceLocation(run.spec);
    const tags = run.selectTags === undefined ? listing.tags : run.selectTags(listing.tags);
    for (const found of tags) {
      const source: Reference = { registry: run.spec.registry, repository: found.repository, tag: found.tag };
      const claim = { source: formatReference(source), job: run.job.name };
      let target: string;
      try {
        // every tag, in every shard: two shards copying to one name would race each other
        target = formatReference(run.name(relativeRepository(location, found.repository), found.tag, source));
      } catch {
        continue; // a name that cannot be made is that image's problem, reported by its run
      }
      const earlier = targets.get(target);
      if (earlier !== undefined && earlier.source !== claim.source) {
        conflicts.push(`${earlier.source} (job ${earlier.job}) and ${claim.source} (job ${claim.job}) both map to ${target}`);
      }
      targets.set(target, earlier ?? claim);
      // the same image to the same name twice is harmless; to two names, the second would never be copied
      const metadataKey = `${run.job.metadataRepo ?? ''}\u0000${claim.source}`;
      const before = recorded.get(metadataKey);
      if (before !== undefined && before.job !== claim.job && before.target !== target) {
        conflicts.push(`${claim.source} is mirrored by jobs ${before.job} and ${claim.job}, which share one metadata file; give one of them its own metadataRepo`);
      }
      recorded.set(metadataKey, before ?? { ...claim, target });
    }
  }
  return conflicts;
}

function conflictError(conflicts: readonly string[]): GcrsyncError {
  const shown = conflicts.slice(0, MAX_LISTED_CONFLICTS);
  const more = conflicts.length > shown.length ? `\n  … and ${conflicts.length - shown.length} more` : '';
  return new GcrsyncError('CONFIG', `nothing was copied: ${conflicts.length} mirror name conflict${conflicts.length === 1 ? '' : 's'}:\n  ${shown.join('\n  ')}${more}`);
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
  signal?: AbortSignal;
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

  // Clone the metadata repos while the sources are listed: a no-op run is mostly these two waits. A clone that
  // fails is reported when its run needs it; the catch here only keeps the early start from going unhandled.
  for (const run of runs) deps.metadataFor(run.job.metadataRepo).catch(() => undefined);
  const listed: Array<{ run: JobRun; listing: Listing }> = [];
  for (const run of runs) {
    try {
      listed.push({ run, listing: await deps.listSource(run.spec, run.job, options.signal) });
    } catch (error) {
      failed(run, error);
    }
  }
  const conflicts = findConflicts(listed);
  if (conflicts.length > 0) throw conflictError(conflicts);

  const deadline = options.maxDurationMs === undefined ? undefined : Date.now() + options.maxDurationMs;
  for (const { run, listing } of listed) {
    if (options.signal?.aborted) break;
    try {
      const runDeps = await runDepsFor(run, deps, async () => listing);
      const result = await (options.command === 'compare' ? runCompare : runSync)(runDeps, settingsFor(run, deps, options, deadline));
      report.runs.push({ job: run.job.name, source: sourceName(run.spec), report: result });
    } catch (error) {
      failed(run, error);
    }
  }
  return report;
}

/** What one run talks to; `list` answers for its source (a listing made earlier, or a fresh one). */
async function runDepsFor(run: JobRun, deps: JobsDeps, list: (signal?: AbortSignal) => Promise<Listing>): Promise<RunDeps> {
  return {
    logger: deps.logger,
    metadata: await deps.metadataFor(run.job.metadataRepo),
    listSource: (_source, signal) => list(signal),
    headTarget: deps.headTarget,
    createTransport: async () => withPlatforms(await deps.createTransport(run.job), run.job.platforms),
    ...(deps.now !== undefined && { now: deps.now }),
  };
}

/** `monitor`: source total / synced / waiting of every run, the metadata repos brought up to date first. */
export async function readRunStatus(runs: readonly JobRun[], deps: JobsDeps, signal?: AbortSignal): Promise<Array<MirrorStatus & { job: string }>> {
  const repos = new Set<MetadataRepo>();
  for (const run of runs) repos.add(await deps.metadataFor(run.job.metadataRepo));
  for (const repo of repos) await repo.refresh(signal);
  const statuses: Array<MirrorStatus & { job: string }> = [];
  for (const run of runs) {
    const runDeps = await runDepsFor(run, deps, (s) => deps.listSource(run.spec, run.job, s));
    const settings = settingsFor(run, deps, { command: 'sync', dryRun: true, ...(signal !== undefined && { signal }) }, undefined);
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
  return {
    source: sourceLocation(run.spec),
    target: run.job.target,
    concurrency: run.job.concurrency,
    queryLimit: run.job.queryLimit,
    dryRun: options.dryRun,
    name: run.name,
    ...(run.selectTags !== undefined && { selectTags: run.selectTags }),
    ...(options.signal !== undefined && { signal: options.signal }),
    ...(options.shard !== undefined && { shard: options.shard }),
    // one deadline for the whole command: each run gets what is left of it
    ...(deadline !== undefined && { maxDurationMs: Math.max(0, deadline - Date.now()) }),
    ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
    ...(hooks !== undefined && { hooks }),
    ...(stopReason !== undefined && { stopReason }),
    ...(deps.observer !== undefined && { observer: deps.observer }),
  };
}

/** Every job of the options, planned and run. */
export async function runJobs(options: JobsOptions, command: 'sync' | 'compare', deps: JobsDeps, signal?: AbortSignal): Promise<JobsReport> {
  const runs = await planRuns(options.jobs, deps, signal);
  return runJobRuns(runs, deps, {
    command,
    dryRun: options.dryRun,
    ...(options.configFile !== undefined && { configFile: options.configFile }),
    ...(options.shard !== undefined && { shard: options.shard }),
    ...(options.maxDurationMs !== undefined && { maxDurationMs: options.maxDurationMs }),
    ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
    ...(signal !== undefined && { signal }),
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

// ---------- config validate ----------

export interface ExampleName {
  source: string;
  target?: string;
  /** why no name could be made */
  error?: string;
  /** the job's tag filters drop this tag */
  filteredOut?: boolean;
  /** made up to show the layout (the job names no image of this source) */
  illustration?: boolean;
}

export interface JobDescription {
  name: string;
  sources: string[];
  target: string;
  metadataRepo: string;
  transport: string;
  concurrency: number;
  queryLimit: number;
  platforms: string[];
  naming: JobOptions['naming'];
  filters: JobOptions['filters'];
  hooks: { beforeRepository?: string; afterPush?: string };
  examples: ExampleName[];
}

const MAX_EXAMPLES = 6;
const PLACEHOLDER_DIGEST = `sha256:${'0'.repeat(64)}`;
const ILLUSTRATION_TAG = 'v1.0.0';

function describeSpec(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'namespace':
      return `${sourceName(spec)} (every repository${spec.api !== undefined ? `, ${spec.api} API` : ''})`;
    case 'repositories':
      return `${sourceName(spec)}: ${spec.repositories.join(', ')}`;
    case 'images':
      return `${sourceName(spec)}: ${spec.images.length} image${spec.images.length === 1 ? '' : 's'} from a list`;
  }
}

/** The run (source namespace) an image belongs to: the longest namespace that holds it. */
function runHolding(runs: readonly JobRun[], image: Reference): JobRun | undefined {
  let best: JobRun | undefined;
  for (const run of runs) {
    if (run.spec.registry !== image.registry) continue;
    const ns = run.spec.namespace;
    if (ns !== '' && !image.repository.startsWith(`${ns}/`)) continue;
    if (best === undefined || ns.length > best.spec.namespace.length) best = run;
  }
  return best;
}

/** The images a run names itself (image lists, named repositories), as source references with a tag. */
function namedImages(run: JobRun): Array<{ ref: Reference; illustration: boolean }> {
  const full = (relative: string) => (run.spec.namespace === '' ? relative : `${run.spec.namespace}/${relative}`);
  switch (run.spec.kind) {
    case 'images':
      return run.spec.images.flatMap((image) =>
        (image.tags ?? [{ tag: ILLUSTRATION_TAG }]).map((t) => ({
          ref: { registry: run.spec.registry, repository: full(image.repository), tag: t.tag },
          illustration: image.tags === undefined,
        })),
      );
    case 'repositories':
      return run.spec.repositories.map((r) => ({ ref: { registry: run.spec.registry, repository: full(r), tag: ILLUSTRATION_TAG }, illustration: true }));
    case 'namespace':
      return ['app', 'sub/app'].map((r) => ({ ref: { registry: run.spec.registry, repository: full(r), tag: ILLUSTRATION_TAG }, illustration: true }));
  }
}

function exampleName(run: JobRun, ref: Reference, illustration: boolean): ExampleName {
  const out: ExampleName = { source: formatReference(ref), ...(illustration && { illustration: true }) };
  try {
    const key = relativeRepository(sourceLocation(run.spec), ref.repository);
    out.target = formatReference(run.name(key, ref.tag!, ref));
    const tag = { repository: ref.repository, tag: ref.tag!, digest: PLACEHOLDER_DIGEST };
    // a made-up tag says nothing about the filters
    if (!illustration && run.selectTags !== undefined && run.selectTags([tag]).length === 0) out.filteredOut = true;
  } catch (error) {
    out.error = describeError(error);
  }
  return out;
}

function describeHook(hook: JobOptions['hooks']['beforeRepository']): string | undefined {
  if (hook === undefined) return undefined;
  const how = typeof hook.run === 'string' ? 'sh -c' : 'argv, no shell';
  const command = typeof hook.run === 'string' ? hook.run.trim() : JSON.stringify(hook.run);
  return `(${how}, timeout ${hook.timeoutMs / 1000}s) ${command}`;
}

/**
 * What each job would do, without touching a registry: its sources (image lists read and checked), target and
 * rules, and the mirror names of a few examples (the job's `examples`, the images it names, else made-up
 * ones marked as illustrations). Real images that would share a mirror name are returned as conflicts.
 */
export async function describeJobs(options: JobsOptions, deps: Pick<JobsDeps, 'loadImageList'>, signal?: AbortSignal): Promise<{ jobs: JobDescription[]; conflicts: string[] }> {
  const jobs: JobDescription[] = [];
  const realListings: Array<{ run: JobRun; listing: Listing }> = [];
  for (const job of options.jobs) {
    const runs = await planRuns([job], deps, signal);
    const examples: ExampleName[] = [];
    const byRun = new Map<JobRun, Reference[]>();
    const addReal = (run: JobRun, ref: Reference) => byRun.set(run, [...(byRun.get(run) ?? []), ref]);
    for (const example of job.examples) {
      const run = runHolding(runs, example);
      if (run === undefined) {
        examples.push({ source: formatReference(example), error: 'none of the job\'s sources holds this image' });
        continue;
      }
      examples.push(exampleName(run, example, false));
      addReal(run, example);
    }
    // the images the job names come first; made-up ones only fill what is left
    const named = runs.flatMap((run) => namedImages(run).map((image) => ({ run, ...image })));
    for (const { run, ref } of named.filter((n) => !n.illustration)) {
      addReal(run, ref);
      if (examples.length < MAX_EXAMPLES) examples.push(exampleName(run, ref, false));
    }
    for (const { run, ref } of named.filter((n) => n.illustration)) {
      if (examples.length < MAX_EXAMPLES) examples.push(exampleName(run, ref, true));
    }
    for (const [run, refs] of byRun) {
      realListings.push({ run, listing: { tags: refs.map((r) => ({ repository: r.repository, tag: r.tag!, digest: PLACEHOLDER_DIGEST })), problems: [] } });
    }
    const beforeRepository = describeHook(job.hooks.beforeRepository);
    const afterPush = describeHook(job.hooks.afterPush);
    jobs.push({
      name: job.name,
      sources: runs.map((r) => describeSpec(r.spec)),
      target: job.target.path === '' ? job.target.registry : `${job.target.registry}/${job.target.path}`,
      metadataRepo: job.metadataRepo ?? '(the git repository of the working directory)',
      transport: job.transport,
      concurrency: job.concurrency,
      queryLimit: job.queryLimit,
      platforms: job.platforms,
      naming: job.naming,
      filters: job.filters,
      hooks: { ...(beforeRepository !== undefined && { beforeRepository }), ...(afterPush !== undefined && { afterPush }) },
      examples,
    });
  }
  return { jobs, conflicts: findConflicts(realListings) };
}

function describeFilters(filters: JobOptions['filters']): string {
  const parts: string[] = [];
  if (filters.include?.length) parts.push(`include ${filters.include.join(' | ')}`);
  if (filters.exclude?.length) parts.push(`exclude ${filters.exclude.join(' | ')}`);
  if (filters.semver !== undefined) parts.push(`semver ${filters.semver}`);
  if (filters.newerThan !== undefined) parts.push(`newer than ${filters.newerThan}`);
  if (filters.stableOnly ?? filters.newerThan !== undefined) parts.push('no latest/alpha/beta/rc');
  if (filters.newest !== undefined) parts.push(`newest ${filters.newest} per repository`);
  return parts.length === 0 ? 'every tag' : parts.join('; ');
}

/** `config validate`'s text output. */
export function formatJobDescriptions(file: string, described: { jobs: JobDescription[]; conflicts: string[] }): string {
  const lines = [`${file}: ${described.jobs.length} job${described.jobs.length === 1 ? '' : 's'}${described.conflicts.length === 0 ? ', valid' : ''}`];
  for (const job of described.jobs) {
    lines.push('', `job ${job.name}`);
    lines.push(`  sources    ${job.sources.join('\n             ')}`);
    lines.push(`  target     ${job.target}`);
    lines.push(`  metadata   ${job.metadataRepo}`);
    lines.push(`  transport  ${job.transport}, ${job.concurrency} images at a time, ${job.queryLimit} listing requests at a time`);
    lines.push(`  platforms  ${job.platforms.length === 0 ? 'all' : job.platforms.join(', ')}`);
    const rewrites = job.naming.rewrite.map((r) => `${r.prefix} → ${r.replacement === '' ? '(nothing)' : r.replacement}`);
    lines.push(`  naming     ${job.naming.template}${job.naming.separator !== undefined ? `, flattened with ${job.naming.separator}` : ''}${rewrites.length > 0 ? `; rewrite ${rewrites.join(', ')}` : ''}`);
    lines.push(`  filters    ${describeFilters(job.filters)}`);
    for (const name of ['beforeRepository', 'afterPush'] as const) {
      const hook = job.hooks[name];
      // a multi-line script is shown as written, indented under its hook
      if (hook !== undefined) lines.push(`  hook       ${name} ${hook.split('\n').join('\n               ')}`);
    }
    lines.push('  examples');
    for (const e of job.examples) {
      const result = e.error !== undefined ? `refused: ${e.error}` : `${e.target}${e.filteredOut ? '  (dropped by the filters)' : ''}`;
      lines.push(`    ${e.source} → ${result}${e.illustration ? '  (illustration)' : ''}`);
    }
  }
  if (described.conflicts.length > 0) lines.push('', 'conflicts', ...described.conflicts.map((c) => `  ${c}`));
  return lines.join('\n');
}
