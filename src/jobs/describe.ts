import type { JobOptions, JobsOptions } from '../config/job-options.js';
import { describeError } from '../errors.js';
import { findConflicts, planRuns, sourceName, type ImageListReader, type JobRun } from './plan.js';
import { relativeRepository } from '../ref/naming.js';
import { formatReference, type Reference } from '../ref/reference.js';
import { sourceLocation, type SourceSpec } from '../sources/index.js';
import type { Listing } from '../sources/source.js';

/** `config validate`: what each job would do, without touching a registry. */

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

/** A job as `config validate` shows it: its settings as resolved, the rest in words. */
export interface JobDescription extends Omit<JobOptions, 'sources' | 'target' | 'metadataRepo' | 'hooks' | 'examples'> {
  sources: string[];
  target: string;
  metadataRepo: string;
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
export async function describeJobs(options: JobsOptions, deps: ImageListReader, signal: AbortSignal): Promise<{ jobs: JobDescription[]; conflicts: string[] }> {
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
    const { sources: _sources, target, metadataRepo, hooks: _hooks, examples: _examples, ...settings } = job;
    jobs.push({
      ...settings,
      sources: runs.map((r) => describeSpec(r.spec)),
      target: target.path === '' ? target.registry : `${target.registry}/${target.path}`,
      metadataRepo: metadataRepo ?? '(the git repository of the working directory)',
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
    lines.push(`  transport  ${job.transport}, ${job.concurrency ?? 'adaptive (from 10)'} images at a time, ${job.queryLimit} listing requests at a time`);
    lines.push(`  platforms  ${job.platforms.length === 0 ? 'all' : job.platforms.join(', ')}`);
    const foreign = job.allowNondistributable ? 'foreign layers uploaded' : 'foreign layers left to their urls';
    lines.push(`  shapes     schema1 ${job.schema1 === 'convert' ? 'converted to schema2' : 'recorded as not mirrorable'}; ${foreign}; referrers ${job.referrers ? 'copied' : 'not copied'}`);
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
