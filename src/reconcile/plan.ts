import { GcrsyncError } from '../errors.js';
import { formatReference, type Reference } from '../ref/reference.js';
import { createHash } from 'node:crypto';
import { relativeRepository, type SourceLocation } from '../ref/naming.js';
import type { SourceTag } from '../sources/source.js';
import { findRecord, isDigestKnown, type NamespaceMetadata } from '../store/schema.js';
import { digestTagSubject, isSignatureTag } from '../ref/digest-tags.js';

/**
 * Why an image is due: never synced, the source tag moved, an old-format record whose digest we never knew, or its
 * signature tags (`sha256-<hex>.sig`, …) are not the ones recorded as copied with it.
 */
export type PlanReason = 'new' | 'digest-changed' | 'unverified' | 'signatures-changed';

export interface PlanItem {
  /** metadata key: repository path under the namespace */
  key: string;
  tag: string;
  source: Reference;
  target: Reference;
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

/** Decides what to copy: pure, so `--dry-run` and the real run see the same plan. */
export function planSync(
  tags: readonly SourceTag[],
  metadata: NamespaceMetadata | undefined,
  source: SourceLocation,
  nameFor: MirrorNamer,
  options: PlanOptions = {},
): Plan {
  const { shard } = options;
  const plan: Plan = { items: [], upToDate: 0, problems: [] };
  const claimedTargets = new Map<string, string>();
  for (const found of tags) {
    const sourceRef: Reference = { registry: source.registry, repository: found.repository, tag: found.tag };
    const subject = formatReference(sourceRef);
    let key: string;
    let targetRef: Reference;
    try {
      key = relativeRepository(source, found.repository);
      if (shard !== undefined && !inShard(key, shard)) continue;
      targetRef = nameFor(key, found.tag, sourceRef);
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
      plan.items = plan.items.filter((item) => formatReference(item.target) !== targetName);
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
    }
    if (reason === undefined) {
      plan.upToDate += 1;
      continue;
    }
    plan.items.push({
      key,
      tag: found.tag,
      source: sourceRef,
      target: targetRef,
      sourceDigest: found.digest,
      ...(found.mediaType !== undefined && { sourceMediaType: found.mediaType }),
      ...(found.children !== undefined && { children: found.children }),
      reason,
      ...(digestTags !== undefined && { digestTags }),
    });
  }
  return plan;
}
