import type { JobOptions } from '../config/job-options.js';
import { GcrsyncError } from '../errors.js';
import { compileTagFilter, type TagSelector } from '../config/filters.js';
import type { MirrorNamer } from '../reconcile/plan.js';
import { createMirrorNamer, relativeRepository } from '../ref/naming.js';
import { formatReference, type Reference } from '../ref/reference.js';
import { groupByNamespace, sourceLocation, type SourceSpec } from '../sources/index.js';
import type { Listing } from '../sources/source.js';

/**
 * The runs of jobs: every job's source becomes one run per source namespace (that is where the metadata
 * lives), and all of them are checked for two sources mapping to one target before anything is copied.
 */

/** Reads an image list file (only this, so `config validate` can plan without a registry). */
export interface ImageListReader {
  loadImageList(file: string, signal: AbortSignal): Promise<Reference[]>;
}

/** One source namespace of one job, with the rules it is mirrored by. */
export interface JobRun {
  job: JobOptions;
  spec: SourceSpec;
  name: MirrorNamer;
  /** undefined: every listed tag (a single `copy` is not filtered) */
  selectTags?: TagSelector;
}

/** `registry/namespace`, or the registry alone for a namespace at its root. */
export function sourceName(spec: SourceSpec): string {
  return spec.namespace === '' ? spec.registry : `${spec.registry}/${spec.namespace}`;
}

/** A job's sources as one spec per namespace: image lists are read and grouped with the inline images. */
async function expandSources(job: JobOptions, deps: ImageListReader, signal: AbortSignal): Promise<SourceSpec[]> {
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
export async function planRuns(jobs: readonly JobOptions[], deps: ImageListReader, signal: AbortSignal): Promise<JobRun[]> {
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
  // one file shared by two jobs needs two runs; with one, there is nothing to remember per tag
  const shared = runs.length > 1;
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
      if (!shared) continue;
      // the same image to the same name twice is harmless; to two names under one target location (one metadata
      // file), each run would copy it again over the other's record
      const targetLocation = run.job.target.path === '' ? run.job.target.registry : `${run.job.target.registry}/${run.job.target.path}`;
      const metadataKey = `${run.job.metadataRepo ?? ''}\u0000${targetLocation}\u0000${claim.source}`;
      const before = recorded.get(metadataKey);
      if (before !== undefined && before.job !== claim.job && before.target !== target) {
        conflicts.push(`${claim.source} is mirrored by jobs ${before.job} and ${claim.job}, which share one metadata file; give one of them its own metadataRepo`);
      }
      recorded.set(metadataKey, before ?? { ...claim, target });
    }
  }
  return conflicts;
}

export function conflictError(conflicts: readonly string[]): GcrsyncError {
  const shown = conflicts.slice(0, MAX_LISTED_CONFLICTS);
  const more = conflicts.length > shown.length ? `\n  … and ${conflicts.length - shown.length} more` : '';
  return new GcrsyncError('CONFIG', `nothing was copied: ${conflicts.length} mirror name conflict${conflicts.length === 1 ? '' : 's'}:\n  ${shown.join('\n  ')}${more}`);
}

