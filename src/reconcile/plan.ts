import { GcrsyncError } from '../errors.js';
import { formatReference, type Reference } from '../ref/reference.js';
import { createHash } from 'node:crypto';
import { relativeRepository, type SourceLocation } from '../ref/naming.js';
import type { SourceTag } from '../sources/source.js';
import { findRecord, isDigestKnown, type NamespaceMetadata } from '../store/schema.js';

/** Why an image is due: never synced, the source tag moved, or an old-format record whose digest we never knew. */
export type PlanReason = 'new' | 'digest-changed' | 'unverified';

export interface PlanItem {
  /** metadata key: repository path under the namespace */
  key: string;
  tag: string;
  source: Reference;
  target: Reference;
  sourceDigest: string;
  sourceMediaType?: string;
  reason: PlanReason;
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
  shard?: Shard,
): Plan {
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
    let reason: PlanReason | undefined;
    if (record === undefined) reason = 'new';
    else if (!isDigestKnown(record)) reason = 'unverified';
    else if (record.digest !== found.digest) reason = 'digest-changed';
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
      reason,
    });
  }
  return plan;
}
