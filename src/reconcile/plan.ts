import { GcrsyncError } from '../errors.js';
import { formatReference, type Reference } from '../ref/reference.js';
import { createHash } from 'node:crypto';
import { relativeRepository, type SourceLocation } from '../ref/naming.js';
import type { SourceTag } from '../sources/source.js';
import { findRecord, isDigestKnown, type NamespaceMetadata, type TagRecord } from '../store/schema.js';
import { digestTagSubject, isSignatureTag } from '../ref/digest-tags.js';

/**
 * Why an image is due: never synced, the source tag moved, an old-format record whose digest we never knew, its
 * signature tags (`sha256-<hex>.sig`, …) are not the ones recorded as copied with it, a record made for another
 * mirror name or platform set than this run would produce (naming rules, DST or `--platform` changed), or an
 * up-to-date record whose mirror is gone or holds other content at the target (found by verification: `drifted`).
 */
export type PlanReason = 'new' | 'digest-changed' | 'unverified' | 'signatures-changed' | 'retargeted' | 'drifted';

export interface PlanItem {
  /** metadata key: repository path under the namespace */
  key: string;
  tag: string;
  source: Reference;
  target: Reference;
  /** `source` and `target` formatted, once: the report lines, the record and the CHANGELOG all hold these strings */
  sourceName: string;
  targetName: string;
  sourceDigest: string;
  sourceMediaType?: string;
  reason: PlanReason;
  /** source tags that follow this image (its `sha256-<hex>.sig/.att/.sbom` and referrers fallback tag) */
  digestTags?: string[];
  /** platform images of an index, when the listing said (a Docker Hub pull each) */
  children?: number;
}

export interface PlanOptions {
  shard?: Shard;
  /** with `convert`, tags recorded as not mirrorable schema1 images are due again */
  schema1?: 'skip' | 'convert';
  /** digest tags found in the listing, by `repository digest` (see digestTagsByImage) */
  digestTags?: ReadonlyMap<string, string[]>;
  /** the platform filter of the copies (empty for all): part of the desired state */
  platforms?: readonly string[];
}

function signatureCount(tags: readonly string[] | undefined): number {
  return tags?.filter(isSignatureTag).length ?? 0;
}

/** Digest tags of the listing grouped by the image they belong to: `repository digest` → tags. */
export function digestTagsByImage(tags: readonly SourceTag[]): Map<string, string[]> {
  const byImage = new Map<string, string[]>();
  for (const found of tags) {
    const subject = digestTagSubject(found.tag);
    if (subject === undefined) continue;
    const key = `${found.repository} ${subject}`;
    byImage.set(key, [...(byImage.get(key) ?? []), found.tag]);
  }
  return byImage;
}

export interface Plan {
  items: PlanItem[];
  /** tags already at the target with the same source digest */
  upToDate: number;
  /** those up-to-date tags with their records, planned as `drifted` should verification find them gone */
  current: Array<{ item: PlanItem; record: TagRecord }>;
  /** source tags left to the other shards (`--shard K/N`), so the counts add up to the listing */
  otherShards: number;
  /** source tags that could not be planned (bad mirror name, two sources on one target) */
  problems: Array<{ subject: string; error: GcrsyncError }>;
}

/** The mirror reference of a source tag, given its repository path under the namespace (the metadata key). */
export type MirrorNamer = (key: string, tag: string, source: Reference) => Reference;

/** A slice of the namespace for one of N parallel jobs: `index` is 1-based, like `--shard 2/3`. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Stable partition by repository (never by tag, so one repository's tags share blobs and mounts within one job):
 * the same repository lands in the same shard on every run and every machine.
 */
export function inShard(key: string, shard: Shard): boolean {
  const bucket = createHash('sha256').update(key).digest().readUInt32BE(0) % shard.count;
  return bucket === shard.index - 1;
}

/**
 * True when a record describes what this run would make: the same mirror reference and the same platform
 * filter. A record older than `platformFilter` holds only the platforms it copied: it still fits a filter
 * that keeps all of them, so upgrading gcrsync does not copy a whole mirror again.
 */
export function recordFits(record: TagRecord, target: string, platforms: readonly string[]): boolean {
  if (record.target !== target) return false;
  const wanted = [...new Set(platforms)].sort();
  if (record.platformFilter !== undefined) return record.platformFilter.join(',') === wanted.join(',');
  if (wanted.length === 0) return true;
  return (record.platforms ?? []).every((platform) => platformWanted(platform, wanted));
}

/** A filter without a variant takes every variant (`linux/arm` keeps `linux/arm/v7`). */
export function platformWanted(platform: string, wanted: readonly string[]): boolean {
  return wanted.some((w) => platform === w || platform.startsWith(`${w}/`));
}

/**
 * Decides what to copy: pure, so `--dry-run` and the real run see the same plan. The desired state is the
 * source digest, the mirror reference and the platform filter (`platforms`, empty for all).
 */
export function planSync(
  tags: readonly SourceTag[],
  metadata: NamespaceMetadata | undefined,
  source: SourceLocation,
  nameFor: MirrorNamer,
  options: PlanOptions = {},
): Plan {
  const { shard, platforms = [] } = options;
  const plan: Plan = { items: [], upToDate: 0, current: [], otherShards: 0, problems: [] };
  const claimedTargets = new Map<string, string>();
  // one string per repository name and media type, not one per tag: a big namespace has tens of thousands of tags
  // in a few thousand repositories
  const names = new Map<string, string>();
  const shared = (name: string): string => {
    const known = names.get(name);
    if (known !== undefined) return known;
    names.set(name, name);
    return name;
  };
  for (const found of tags) {
    const sourceRef: Reference = { registry: source.registry, repository: found.repository, tag: found.tag };
    const subject = formatReference(sourceRef);
    let key: string;
    let targetRef: Reference;
    try {
      key = shared(relativeRepository(source, found.repository));
      if (shard !== undefined && !inShard(key, shard)) {
        plan.otherShards += 1;
        continue;
      }
      const named = nameFor(key, found.tag, sourceRef);
      targetRef = { ...named, repository: shared(named.repository) };
    } catch (error) {
      plan.problems.push({ subject, error: error as GcrsyncError });
      continue;
    }
    const targetName = formatReference(targetRef);
    const earlier = claimedTargets.get(targetName);
    if (earlier !== undefined) {
      plan.problems.push({
        subject,
        error: new GcrsyncError('CONFIG', `${subject} and ${earlier} both map to ${targetName}; neither is copied there`, { ref: targetName }),
      });
      plan.items = plan.items.filter((item) => item.targetName !== targetName);
      continue;
    }
    claimedTargets.set(targetName, subject);
    const record = findRecord(metadata, key, found.tag);
    const digestTags = options.digestTags?.get(`${found.repository} ${found.digest}`);
    let reason: PlanReason | undefined;
    if (record === undefined) reason = 'new';
    else if (!isDigestKnown(record)) reason = 'unverified';
    else if (record.digest !== found.digest) reason = 'digest-changed';
    else if (record.skipped === 'schema1' && options.schema1 === 'convert') reason = 'new';
    else if (record.skipped === undefined && record.targetDigest === undefined && signatureCount(digestTags) !== (record.signatures ?? 0)) {
      reason = 'signatures-changed';
    } else if (record.skipped === undefined && !recordFits(record, targetName, platforms)) reason = 'retargeted';
    const item: PlanItem = {
      key,
      tag: found.tag,
      source: sourceRef,
      target: targetRef,
      sourceName: subject,
      // the record's strings where they are the same: the metadata keeps them anyway, the listing is let go
      targetName: record?.target === targetName ? record.target : targetName,
      sourceDigest: record?.digest === found.digest ? record.digest : found.digest,
      ...(found.mediaType !== undefined && { sourceMediaType: shared(found.mediaType) }),
      ...(found.children !== undefined && { children: found.children }),
      reason: reason ?? 'drifted',
      ...(digestTags !== undefined && { digestTags }),
    };
    if (reason === undefined) {
      plan.upToDate += 1;
      plan.current.push({ item, record: record! });
      continue;
    }
    plan.items.push(item);
  }
  return plan;
}
