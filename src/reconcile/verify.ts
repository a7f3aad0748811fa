import { createHash } from 'node:crypto';
import PQueue from 'p-queue';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatReference, parseReference } from '../ref/reference.js';
import type { RepositoryRef } from '../registry/client.js';
import type { NamespaceMetadata, TagRecord } from '../store/schema.js';
import type { Reference } from '../ref/reference.js';
import { inShard, platformWanted, type Plan, type PlanItem, type Shard } from './plan.js';

/**
 * Drift: the metadata says a mirror is there, but someone deleted or overwrote it at the target. Verification
 * HEADs recorded mirrors at the target and plans the ones that are gone or hold other content again.
 *
 * `always` checks every record (`sync --verify`), `never` none, and a fraction f a rolling share: each record
 * falls in one slice of the 1/f days of a cycle, so a daily job has checked every record after 1/f days.
 */
export type VerifyPolicy = 'always' | 'never' | number;

export const DEFAULT_VERIFY: VerifyPolicy = 1 / 7;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The records this run checks: all, none, or today's share, stable for a given day. */
export function selectForVerify<T extends { item: PlanItem }>(current: readonly T[], policy: VerifyPolicy, now: Date): T[] {
  const checkedToday = todaysShare(policy, now);
  return current.filter(({ item }) => checkedToday(item.targetName));
}

/** Whether the mirror named `target` is checked today under `policy`. */
function todaysShare(policy: VerifyPolicy, now: Date): (target: string) => boolean {
  if (policy === 'always' || (policy !== 'never' && policy >= 1)) return () => true;
  if (policy === 'never' || policy <= 0) return () => false;
  const day = Math.floor(now.getTime() / DAY_MS);
  const offset = (day * policy) % 1;
  return (target) => {
    const spot = createHash('sha256').update(target).digest().readUInt32BE(0) / 2 ** 32;
    // today's window [offset, offset + policy) on the circle [0, 1)
    return (spot - offset + 1) % 1 < policy;
  };
}

export interface VerifyDeps {
  headTarget(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<{ digest: string } | undefined>;
  /** the digest there, asked with the one expected, which a registry can confirm without reading the manifest; absent: headTarget */
  digestAtTarget?(repo: RepositoryRef, reference: string, expected: string, signal: AbortSignal): Promise<{ digest: string } | undefined>;
  logger: Logger;
}

function digestAt(deps: VerifyDeps, repo: RepositoryRef, reference: string, expected: string, signal: AbortSignal): Promise<{ digest: string } | undefined> {
  return deps.digestAtTarget === undefined ? deps.headTarget(repo, reference, signal) : deps.digestAtTarget(repo, reference, expected, signal);
}

export interface VerifyResult {
  checked: number;
  /** gone or different at the target: planned again as `drifted` */
  drifted: PlanItem[];
  /** why verification stopped before checking everything (e.g. the target's pull budget) */
  stoppedBecause?: string;
}

/**
 * HEADs each record's mirror at the target, `queryLimit` at a time. A mirror that answers with another digest
 * than the one recorded, or not at all, drifted. A HEAD that fails says nothing about the mirror: it is left
 * for the next run. `stopReason` is asked before each HEAD (the Docker Hub budget when the target is Hub).
 */
export async function findDrift(
  records: ReadonlyArray<{ item: PlanItem; record: TagRecord }>,
  deps: VerifyDeps,
  options: { queryLimit: number; signal: AbortSignal; stopReason?: () => string | undefined },
): Promise<VerifyResult> {
  const queue = new PQueue({ concurrency: Math.max(1, options.queryLimit) });
  const result: VerifyResult = { checked: 0, drifted: [] };
  for (const { item, record } of records) {
    // fed as it drains, not all at once: a queued HEAD costs some 700 bytes
    await queue.onSizeLessThan(Math.max(1, options.queryLimit));
    void queue.add(async () => {
      if (options.signal.aborted || result.stoppedBecause !== undefined) return;
      const stop = options.stopReason?.();
      if (stop !== undefined) {
        result.stoppedBecause = stop;
        deps.logger.warn(`verifying no more mirrors: ${stop}`);
        return;
      }
      const repo = { registry: item.target.registry, repository: item.target.repository };
      const target = item.targetName;
      const expected = record.targetDigest ?? record.digest;
      try {
        const found = await digestAt(deps, repo, item.target.tag ?? item.tag, expected, options.signal);
        result.checked += 1;
        if (found?.digest === expected) return;
        deps.logger.warn(found === undefined ? `${target} is gone from the target; copying it again` : `${target} holds ${found.digest} at the target, not ${expected}; copying it again`);
        result.drifted.push(item);
      } catch (error) {
        if (!options.signal.aborted) deps.logger.warn(`could not verify ${target}`, { error: describeError(error) });
      }
    });
  }
  await queue.onIdle();
  return result;
}

export interface DriftPrefetch {
  /** the prefetched answer for this mirror (each is handed out once), else a HEAD sent now */
  digestAt: NonNullable<VerifyDeps['digestAtTarget']>;
  /** the records in today's share, chosen once: the check after the plan takes these, whatever the clock says then */
  share: ReadonlySet<TagRecord>;
  /** drops the answers nobody asked for and cancels the HEADs still waiting or in flight */
  discard(): void;
}

type Prefetched = Promise<{ found: { digest: string } | undefined } | 'unsent'>;

/**
 * Sends the drift check's HEADs before the plan exists: today's share of the recorded mirrors is known from the
 * metadata alone (the share is chosen by mirror name), so they can be asked while the source is still listed.
 * `verifyMirrors` then takes the answers through `digestAt`: for every record still current and under the same
 * mirror name, the HEAD it would have sent. A record the listing moves (or renames) costs one HEAD nobody reads.
 * The queue is fed as it drains, as findDrift's is: a queued HEAD costs some 700 bytes, and a 50 000-tag namespace
 * has 7 000 of them a day; a mirror asked for before its turn is HEADed at once and taken off the list.
 */
export function prefetchDrift(
  metadata: NamespaceMetadata | undefined,
  deps: VerifyDeps & { now?: () => Date },
  settings: { verify?: VerifyPolicy; queryLimit: number; signal: AbortSignal; verifyStopReason?: () => string | undefined; shard?: Shard },
): DriftPrefetch {
  const cancel = new AbortController();
  const signal = AbortSignal.any([settings.signal, cancel.signal]);
  const limit = Math.max(1, settings.queryLimit);
  const queue = new PQueue({ concurrency: limit });
  // mirror → its record until the HEAD is sent, then the answer; 'unsent': left to the check itself (the budget
  // said stop, or the run was cancelled)
  const answers = new Map<string, TagRecord | Prefetched>();
  const share = new Set<TagRecord>();
  const checkedToday = todaysShare(settings.verify ?? DEFAULT_VERIFY, (deps.now ?? (() => new Date()))());
  for (const [key, tags] of Object.entries(metadata?.images ?? {})) {
    // another shard's records are that shard's to check
    if (settings.shard !== undefined && !inShard(key, settings.shard)) continue;
    for (const record of Object.values(tags)) {
      // not-mirrorable records claim no mirror
      if (record.skipped !== undefined || !checkedToday(record.target)) continue;
      share.add(record);
      // a target that does not name a tag (or does not parse) is left to the check after the plan
      const mirror = taggedMirror(record.target);
      if (mirror !== undefined) answers.set(mirrorKey(mirror, mirror.tag), record);
    }
  }
  const send = (record: TagRecord): Prefetched => {
    const { registry, repository, tag } = taggedMirror(record.target)!;
    const answer = queue.add(
      async () => {
        // the budget check of findDrift, asked before each HEAD: one it would not send is not sent early either
        if (signal.aborted || settings.verifyStopReason?.() !== undefined) return 'unsent' as const;
        return { found: await digestAt(deps, { registry, repository }, tag, record.targetDigest ?? record.digest, signal) };
      },
      { throwOnTimeout: true },
    );
    // read later, or never (the plan did not keep the record): never an unhandled rejection
    answer.catch(() => undefined);
    return answer;
  };
  const feed = async () => {
    for (const [key, entry] of answers) {
      if (entry instanceof Promise) continue;
      await queue.onSizeLessThan(limit);
      // asked for meanwhile (and HEADed then), or discarded
      if (signal.aborted || answers.get(key) !== entry) continue;
      answers.set(key, send(entry));
    }
  };
  void feed().catch(() => undefined);
  return {
    digestAt: async (repo, reference, expected, signal) => {
      const key = mirrorKey(repo, reference);
      const entry = answers.get(key);
      answers.delete(key);
      const prefetched = entry instanceof Promise ? await entry : undefined;
      return prefetched === undefined || prefetched === 'unsent' ? digestAt(deps, repo, reference, expected, signal) : prefetched.found;
    },
    share,
    discard: () => {
      answers.clear();
      queue.clear();
      cancel.abort();
    },
  };
}

/** The mirror a record's target names by tag, or undefined (by digest, or not a reference). */
function taggedMirror(target: string): (Reference & { tag: string }) | undefined {
  try {
    const mirror = parseReference(target);
    return mirror.tag === undefined || mirror.digest !== undefined ? undefined : (mirror as Reference & { tag: string });
  } catch {
    return undefined;
  }
}

function mirrorKey(repo: RepositoryRef, reference: string): string {
  return formatReference({ ...repo, tag: reference });
}

/**
 * Today's share of the up-to-date records is HEADed at the target; what drifted joins the plan. `share`: the records
 * prefetchDrift chose from the same metadata, so they are not hashed again.
 */
export async function verifyMirrors(
  deps: VerifyDeps & { now?: () => Date },
  settings: { verify?: VerifyPolicy; queryLimit: number; signal: AbortSignal; verifyStopReason?: () => string | undefined },
  plan: Plan,
  report: { verified?: { checked: number; drifted: number } },
  share?: ReadonlySet<TagRecord>,
): Promise<void> {
  // a not-mirrorable record (schema1 left at the source) claims no mirror: there is nothing at the target to check
  const mirrored = plan.current.filter(({ record }) => record.skipped === undefined);
  const selected =
    share === undefined ? selectForVerify(mirrored, settings.verify ?? DEFAULT_VERIFY, (deps.now ?? (() => new Date()))()) : mirrored.filter(({ record }) => share.has(record));
  if (selected.length === 0) return;
  const result = await findDrift(selected, deps, {
    queryLimit: settings.queryLimit,
    signal: settings.signal,
    ...(settings.verifyStopReason !== undefined && { stopReason: settings.verifyStopReason }),
  });
  plan.items.push(...result.drifted);
  plan.upToDate -= result.drifted.length;
  report.verified = { checked: result.checked, drifted: result.drifted.length };
}

/**
 * A docker-transport mirror never has the source's digest (the daemon rewrites the manifest): it is the same image
 * when its platforms are platforms of the source that the run copies. Returns them, or [] when it is not.
 */
export async function dockerCopyPlatforms(
  deps: { platformsAt?(ref: Reference, signal: AbortSignal): Promise<string[]> },
  settings: { transport?: 'registry' | 'docker'; platforms?: readonly string[]; signal: AbortSignal },
  item: PlanItem,
): Promise<string[]> {
  if (settings.transport !== 'docker' || deps.platformsAt === undefined) return [];
  const atTarget = await deps.platformsAt(item.target, settings.signal);
  const atSource = await deps.platformsAt({ ...item.source, digest: item.sourceDigest }, settings.signal);
  const wanted = settings.platforms ?? [];
  const fits = atTarget.length > 0 && atTarget.every((p) => atSource.includes(p) && (wanted.length === 0 || platformWanted(p, wanted)));
  return fits ? atTarget : [];
}
