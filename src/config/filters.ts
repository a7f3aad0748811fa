import semver, { type SemVer } from 'semver';
import { GcrsyncError } from '../errors.js';
import { sortTagsNewestFirst } from '../ref/tag-order.js';
import type { SourceTag } from '../sources/source.js';

/**
 * Which tags of a source a job mirrors. Every rule narrows the listing; they apply in this order:
 * include/exclude, stableOnly, semver range, newerThan, then newest N per repository.
 */
export interface TagFilterRules {
  /** regular expressions (unanchored); a tag must match at least one */
  include?: string[];
  /** regular expressions (unanchored); a tag matching any is dropped */
  exclude?: string[];
  /** a semver range (`>=1.28.0 <1.31`); tags that are not semver are dropped */
  semver?: string;
  /** only tags newer (semver order) than this one; tags that are not semver are dropped */
  newerThan?: string;
  /** drop `latest` and alpha/beta/rc tags; on by default with `newerThan` (the daily-new-tags mode) */
  stableOnly?: boolean;
  /** keep only the newest N tags per repository (the order of `sortTagsNewestFirst`) */
  newest?: number;
}

export type TagSelector = (tags: readonly SourceTag[]) => SourceTag[];

// `latest`, and alpha/beta/rc as a word of their own (`v1.30.0-rc.1`, `1.0.0-beta2`, `rc1`) but not inside one (`src`, `alphabet`).
const UNSTABLE_TAG = /(?:^|[^a-z])(?:latest|alpha|beta|rc)(?:[^a-z]|$)/i;

/** True for `latest` and alpha, beta and release-candidate tags. */
export function isUnstableTag(tag: string): boolean {
  return UNSTABLE_TAG.test(tag);
}

/**
 * The semver a tag spells, or undefined: `1.2.3`, `v1.2.3` and `v1.2.3-rc.1+build` parse; `1.2`, `latest`,
 * `3.1-alpine-2` with a non-semver shape, and digests do not. Strict parsing so `1.17` is never read as `1.17.0`.
 */
export function tagSemver(tag: string): SemVer | undefined {
  const text = /^v\d/.test(tag) ? tag.slice(1) : tag;
  return semver.parse(text) ?? undefined;
}

function configError(message: string): GcrsyncError {
  return new GcrsyncError('CONFIG', message);
}

function patternProblems(name: string, patterns: readonly string[]): string[] {
  return patterns.flatMap((pattern) => {
    try {
      new RegExp(pattern);
      return [];
    } catch (error) {
      return [`filters.${name}: ${JSON.stringify(pattern)} is not a regular expression (${(error as Error).message})`];
    }
  });
}

/** Every bad rule of a filter, one message each (config validate lists them all). */
export function tagFilterProblems(rules: TagFilterRules): string[] {
  const problems = [...patternProblems('include', rules.include ?? []), ...patternProblems('exclude', rules.exclude ?? [])];
  if (rules.semver !== undefined && semver.validRange(rules.semver) === null) problems.push(`filters.semver: ${JSON.stringify(rules.semver)} is not a semver range`);
  if (rules.newerThan !== undefined && tagSemver(rules.newerThan) === undefined) {
    problems.push(`filters.newerThan: ${JSON.stringify(rules.newerThan)} is not a semver tag (1.2.3 or v1.2.3)`);
  }
  if (rules.newest !== undefined && (!Number.isInteger(rules.newest) || rules.newest < 1)) {
    problems.push(`filters.newest must be a whole number of at least 1, got ${JSON.stringify(rules.newest)}`);
  }
  return problems;
}

/** Checks the rules and returns the selector a run applies to its listing; throws CONFIG naming every bad rule. */
export function compileTagFilter(rules: TagFilterRules): TagSelector {
  const problems = tagFilterProblems(rules);
  if (problems.length > 0) throw configError(problems.join('; '));
  const include = (rules.include ?? []).map((pattern) => new RegExp(pattern));
  const exclude = (rules.exclude ?? []).map((pattern) => new RegExp(pattern));
  const range = rules.semver === undefined ? undefined : new semver.Range(rules.semver);
  const floor = rules.newerThan === undefined ? undefined : tagSemver(rules.newerThan);
  const stableOnly = rules.stableOnly ?? rules.newerThan !== undefined;

  const keep = (tag: string): boolean => {
    if (include.length > 0 && !include.some((p) => p.test(tag))) return false;
    if (exclude.some((p) => p.test(tag))) return false;
    if (stableOnly && isUnstableTag(tag)) return false;
    if (range !== undefined || floor !== undefined) {
      const version = tagSemver(tag);
      if (version === undefined) return false;
      if (range !== undefined && !range.test(version)) return false;
      if (floor !== undefined && !semver.gt(version, floor)) return false;
    }
    return true;
  };

  return (tags) => {
    const kept = tags.filter((t) => keep(t.tag));
    if (rules.newest === undefined) return kept;
    const byRepository = new Map<string, SourceTag[]>();
    for (const t of kept) {
      const list = byRepository.get(t.repository) ?? [];
      list.push(t);
      byRepository.set(t.repository, list);
    }
    const newest = new Set<SourceTag>();
    for (const list of byRepository.values()) {
      for (const t of sortTagsNewestFirst(list, (tag) => tag).slice(0, rules.newest)) newest.add(t);
    }
    // the listing's own order is kept, so plans and reports read the same with and without the filter
    return kept.filter((t) => newest.has(t));
  };
}
