import PQueue from 'p-queue';
import { describeError, GcrsyncError, isGcrsyncError } from '../errors.js';
import { followConcurrency, type Concurrency } from '../http/adaptive-concurrency.js';
import { isTransient } from '../http/retry.js';
import type { Logger } from '../log.js';
import { formatReference, formatRepository } from '../ref/reference.js';
import type { ManifestDescriptor, RepositoryRef } from '../registry/client.js';
import { quoteUntrusted } from '../sources/untrusted.js';
import { isRecordablePlatform } from '../store/schema.js';
import type { CopyResult, Transport } from '../transports/transport.js';
import type { PlanItem } from './plan.js';
import { SETUP_FAILURE_LIMIT, setupFailure } from './setup-failure.js';

export interface ItemOutcome {
  item: PlanItem;
  /**
   * synced: copied and verified; already-present: at the target with the wanted content; failed; skipped: not
   * started (or abandoned) because the run stopped; no-platform: the image has none of the platforms the run
   * copies; missing / differs (compare): not at the target, or there with other content; not-mirrorable: no
   * registry stores the image's shape any more (schema1), recorded, never retried
   */
  status: 'synced' | 'already-present' | 'failed' | 'skipped' | 'not-mirrorable' | 'no-platform' | 'missing' | 'differs';
  result?: CopyResult;
  /** digest verified at the target after the copy */
  targetDigest?: string;
  error?: GcrsyncError | Error;
  /** why a skipped item was not started */
  skippedBecause?: string;
  seconds: number;
}

/** Commands a job runs around pushes (issue-driven mirrors, ECR repository creation, SWR visibility). */
export interface PushHooks {
  /** once per target repository, before its first push in this run */
  beforeRepository?(target: RepositoryRef, signal: AbortSignal): Promise<void>;
  /** after an image is verified at the target; a failure fails that image (it is then not recorded) */
  afterPush?(item: PlanItem, result: CopyResult, signal: AbortSignal): Promise<void>;
}

export interface ExecuteDeps {
  transport: Transport;
  /** HEAD of the target manifest: the proof an image is there before it is recorded, when the push's answer gave none */
  headTarget(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<ManifestDescriptor | undefined>;
  logger: Logger;
  hooks?: PushHooks;
}

/** Images at a time when the run adapts nothing (docker transport) and where adaptive concurrency starts. */
export const DEFAULT_IMAGE_CONCURRENCY = 10;

export interface ExecuteOptions {
  /** images at a time: fixed (`--concurrency`), or adapting to the registries while the run goes */
  concurrency: Concurrency;
  signal: AbortSignal;
  /** asked before each image starts: a reason stops the run from starting more (deadline, rate-limit budget) */
  stopReason?: (item: PlanItem) => string | undefined;
  onOutcome?: (outcome: ItemOutcome) => void | Promise<void>;
}

/** Images waiting in the queue beside those in flight: enough for any concurrency to pick from. */
const QUEUED_AHEAD = 256;

/**
 * Copies every planned image, `concurrency` at a time. A failed image is reported and the rest go on;
 * an image counts as synced only when the target names the digest the copy produced: in its answer to the tag's
 * manifest PUT, else in a manifest HEAD.
 * Returns the outcomes, unless `onOutcome` takes them one by one (a big namespace's are then not kept twice).
 */
export async function executePlan(items: readonly PlanItem[], deps: ExecuteDeps, options: ExecuteOptions): Promise<ItemOutcome[]> {
  const queue = new PQueue();
  const unfollow = followConcurrency(options.concurrency, (value) => (queue.concurrency = value));
  try {
    return await runQueue(queue, items, deps, options);
  } finally {
    unfollow();
  }
}

async function runQueue(queue: PQueue, items: readonly PlanItem[], deps: ExecuteDeps, options: ExecuteOptions): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = [];
  const preparedRepositories = new Map<string, Promise<void>>();
  let stopLogged = false;
  const finish = async (outcome: ItemOutcome) => {
    if (options.onOutcome === undefined) outcomes.push(outcome);
    else await options.onOutcome(outcome);
  };
  const prepare = (item: PlanItem): Promise<void> => {
    const hook = deps.hooks?.beforeRepository;
    if (hook === undefined) return Promise.resolve();
    const repo = { registry: item.target.registry, repository: item.target.repository };
    const key = formatRepository(repo);
    let prepared = preparedRepositories.get(key);
    if (prepared === undefined) {
      prepared = hook(repo, options.signal);
      preparedRepositories.set(key, prepared);
    }
    return prepared;
  };
  const retryLater: PlanItem[] = [];
  const setupFailures = new Map<string, number>();
  let setupStop: string | undefined;
  const attempt = async (item: PlanItem, lastChance: boolean) => {
    const started = Date.now();
    const reason = options.signal.aborted ? 'interrupted' : (setupStop ?? options.stopReason?.(item));
    if (reason !== undefined) {
      if (!stopLogged) deps.logger.warn(`starting no more images: ${reason}`);
      stopLogged = true;
      await finish({ item, status: 'skipped', skippedBecause: reason, seconds: 0 });
      return;
    }
    try {
      await prepare(item);
      await finish({ ...(await copyAndVerify(item, deps, options.signal)), seconds: (Date.now() - started) / 1000 });
    } catch (error) {
      const source = formatReference(item.source);
      if (options.signal.aborted) {
        // abandoned in flight: nothing is recorded, the next run copies it again
        await finish({ item, status: 'skipped', skippedBecause: 'interrupted', seconds: (Date.now() - started) / 1000 });
        return;
      }
      if (isGcrsyncError(error, 'NO_MATCHING_PLATFORM')) {
        deps.logger.info(`skipped ${source}: no matching platform`, { error: error.message });
        await finish({ item, status: 'no-platform', error, seconds: (Date.now() - started) / 1000 });
        return;
      }
      const setup = setupFailure(error, item);
      if (setup !== undefined) {
        // one message for the setup problem, not one per image; after a few the run stops trying
        const seen = (setupFailures.get(setup.key) ?? 0) + 1;
        setupFailures.set(setup.key, seen);
        if (seen === 1) deps.logger.error(setup.message);
        deps.logger.debug(`failed ${source}`, { error: describeError(error) });
        if (seen >= SETUP_FAILURE_LIMIT && setupStop === undefined) {
          setupStop = setup.message;
          stopLogged = true;
          deps.logger.error(`starting no more images after ${seen} identical failures`);
        }
        await finish({ item, status: 'failed', error: error as Error, seconds: (Date.now() - started) / 1000 });
        return;
      }
      if (!lastChance && isTransient(error)) {
        deps.logger.info(`failed ${source}; trying it once more at the end of the run`, { error: describeError(error) });
        retryLater.push(item);
        return;
      }
      deps.logger.warn(`failed ${source}`, { target: formatReference(item.target), error: describeError(error) });
      await finish({ item, status: 'failed', error: error as Error, seconds: (Date.now() - started) / 1000 });
    }
  };
  for (const item of items) {
    // fed as it drains: a queued image costs some 700 bytes, 34 MB for a 50 000-tag namespace queued at once
    await queue.onSizeLessThan(QUEUED_AHEAD);
    void queue.add(() => attempt(item, false));
  }
  await queue.onIdle();
  // One more try per image, after everything else: registries have bad moments that outlast the request retries
  // (a storage race, a proxy restarting), and a daily job should not carry such an image over to tomorrow.
  for (const item of retryLater) void queue.add(() => attempt(item, true));
  await queue.onIdle();
  return outcomes;
}

async function copyAndVerify(item: PlanItem, deps: ExecuteDeps, signal: AbortSignal): Promise<Omit<ItemOutcome, 'seconds'>> {
  const targetRepo = { registry: item.target.registry, repository: item.target.repository };
  // the mirror's tag: a naming template or `copy SRC DST` may give it another tag than the source's
  const targetTag = item.target.tag ?? item.tag;
  if (item.reason === 'unverified') {
    // An old-format record never said which digest was copied: a target already holding the source digest needs no copy.
    const present = await deps.headTarget(targetRepo, targetTag, signal);
    if (present?.digest === item.sourceDigest) return { item, status: 'already-present', targetDigest: present.digest };
  }
  const result = await deps.transport.copy(
    {
      source: item.source,
      sourceDigest: item.sourceDigest,
      target: item.target,
      ...(item.sourceMediaType !== undefined && { sourceMediaType: item.sourceMediaType }),
      ...(item.digestTags !== undefined && item.digestTags.length > 0 && { digestTags: item.digestTags }),
    },
    signal,
  );
  if (result.notMirrorable !== undefined) return { item, status: 'not-mirrorable', result };
  // The registry's answer to the tag's PUT named the digest pushed: that is its word that the tag holds those bytes
  // (what skopeo, crane and regsync go by); a HEAD would ask it the same again, one request in three for a small
  // image. An answer without the digest (or a daemon push, which shows none) is checked with a HEAD.
  const verified = result.confirmed === true ? { digest: result.targetDigest } : await deps.headTarget(targetRepo, targetTag, signal);
  if (verified === undefined) {
    throw new GcrsyncError('NOT_FOUND', `${formatReference(item.target)} is not at the target after the push`, {
      ref: formatReference(item.target),
    });
  }
  if (verified.digest !== result.targetDigest) {
    throw new GcrsyncError(
      'DIGEST_MISMATCH',
      `${formatReference(item.target)} has ${verified.digest} at the target, the copy pushed ${result.targetDigest}`,
      { ref: formatReference(item.target) },
    );
  }
  // one image with a hostile config must not make the metadata writer refuse the whole namespace
  const unrecordable = result.platforms.find((platform) => !isRecordablePlatform(platform));
  if (unrecordable !== undefined) {
    throw new GcrsyncError(
      'HOSTILE_RESPONSE',
      `${formatReference(item.source)} names its platform ${quoteUntrusted(unrecordable)}, which is not os/arch[/variant]; it is not recorded`,
      { ref: formatReference(item.source) },
    );
  }
  await deps.hooks?.afterPush?.(item, result, signal);
  for (const warning of result.warnings) deps.logger.warn(warning, { image: formatReference(item.source) });
  return { item, status: 'synced', result, targetDigest: verified.digest };
}
