import type { Readable } from 'node:stream';
import PQueue from 'p-queue';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { followConcurrency, type Concurrency } from '../http/adaptive-concurrency.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, retrying } from '../http/retry.js';
import { silentLogger, type Logger } from '../log.js';
import type { RegistryClient, RepositoryRef } from '../registry/client.js';

export type BlobClient = Pick<RegistryClient, 'headBlob' | 'getBlob' | 'getBlobFromUrls' | 'mountBlob' | 'uploadBlob'>;

export interface BlobJob {
  source: RepositoryRef;
  target: RepositoryRef;
  digest: string;
  /** size from the manifest descriptor; the bytes streamed must match it */
  size: number;
  /** where a non-distributable layer lives when the source registry does not hold it */
  urls?: readonly string[];
  /**
   * The target repository had no tags when the run began, so a blob no repository got during this run is almost
   * surely missing there: its source read starts together with the probe instead of after it (one round trip less).
   */
  fresh?: boolean;
}

/** Reads a whole (small) blob from the source. */
export type BlobReader = (signal: AbortSignal) => Promise<Buffer>;

type SourceBlob = { body: Readable | Buffer; size?: number };

export type BlobOutcome = { kind: 'uploaded'; bytes: number } | { kind: 'mounted' } | { kind: 'skipped' };

export interface BlobStats {
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  blobBytesUploaded: number;
}

export interface BlobCopierOptions {
  client: BlobClient;
  /** blob transfers running at once, shared by every image of the run: fixed, or adapting to the registries */
  concurrency: Concurrency;
  chunkBytes?: number;
  logger?: Logger;
}

export interface BlobCopier {
  /**
   * Makes `job.digest` present in the target repository, crossing the wire at most once per target registry.
   * `read`: how to get the whole blob from the source when it has to be sent (an image config the caller wants
   * to see too), in place of a streamed GET.
   */
  ensure(job: BlobJob, signal: AbortSignal, read?: BlobReader): Promise<BlobOutcome>;
  stats(): BlobStats;
  /** Drops transfers not yet started and waits for running ones. */
  close(): Promise<void>;
}

// The HTTP client cannot replay a streamed upload, and a blob body cut off mid-stream fails after its answer
// arrived: both are retried here, as a whole new transfer (fresh source GET, fresh upload session, §5).
const TRANSFER_RETRIES = 3;

/**
 * A blob found already in place must still have the size the manifest claims: a manifest that misstates a
 * size would otherwise be published as if it were whole (pulls of it fail their size check).
 */
function checkSize(job: BlobJob, actual: number, where: string): void {
  if (actual === job.size) return;
  throw new GcrsyncError(
    'DIGEST_MISMATCH',
    `blob ${job.digest} is ${actual} bytes at ${where}, the manifest of ${job.source.registry}/${job.source.repository} says ${job.size}`,
    { ref: `${job.source.registry}/${job.source.repository}@${job.digest}` },
  );
}

function waitAbortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Copies blobs between repositories. Per target registry it remembers which repositories got which blobs during
 * this run, so a blob already sent to one repository is mounted into the next one instead of sent again, and it
 * joins concurrent requests for the same blob: the second image waits for the first transfer, then mounts.
 */
export function createBlobCopier(options: BlobCopierOptions): BlobCopier {
  const { client } = options;
  const logger = options.logger ?? silentLogger;
  const queue = new PQueue();
  const unfollow = followConcurrency(options.concurrency, (value) => (queue.concurrency = value));
  // registry → digest → repositories known to hold it
  const holders = new Map<string, Map<string, Set<string>>>();
  // `${registry} ${digest}` → the transfer currently bringing that blob to the registry
  const inFlight = new Map<string, Promise<unknown>>();
  // `${registry} ${digest}` → the size the blob proved to have at that registry during this run
  const knownSizes = new Map<string, number>();
  const counts: BlobStats = { blobsUploaded: 0, blobsMounted: 0, blobsSkipped: 0, blobBytesUploaded: 0 };

  const holdersOf = (registry: string, digest: string): Set<string> => {
    let byDigest = holders.get(registry);
    if (!byDigest) holders.set(registry, (byDigest = new Map()));
    let repositories = byDigest.get(digest);
    if (!repositories) byDigest.set(digest, (repositories = new Set()));
    return repositories;
  };

  const record = (outcome: BlobOutcome): BlobOutcome => {
    if (outcome.kind === 'uploaded') {
      counts.blobsUploaded++;
      counts.blobBytesUploaded += outcome.bytes;
    } else if (outcome.kind === 'mounted') counts.blobsMounted++;
    else counts.blobsSkipped++;
    return outcome;
  };

  async function mountOrOpen(job: BlobJob, from: string, signal: AbortSignal): Promise<'mounted' | string | undefined> {
    try {
      const answer = await client.mountBlob(job.target, job.digest, from, signal);
      return answer === 'mounted' ? 'mounted' : answer.uploadUrl;
    } catch (error) {
      // A mount is only a shortcut: when asking for one fails, a plain upload may still work.
      if (signal.aborted || isGcrsyncError(error, 'ABORTED')) throw error;
      logger.debug('blob mount refused, uploading instead', { digest: job.digest, from, error: String(error) });
      return undefined;
    }
  }

  /** The source registry's copy, else (a foreign layer the registry does not hold) the descriptor's urls. */
  async function readSource(job: BlobJob, signal: AbortSignal): Promise<{ body: Readable; size?: number }> {
    try {
      return await client.getBlob(job.source, job.digest, signal, job.size);
    } catch (error) {
      if (job.urls === undefined || job.urls.length === 0 || !isGcrsyncError(error, 'NOT_FOUND')) throw error;
      logger.debug('blob not in the source registry; reading it from its urls', { digest: job.digest });
      return client.getBlobFromUrls(job.source, job.digest, job.urls, signal, job.size);
    }
  }

  /**
   * One request decides between the three outcomes: a mount from a repository that got the blob earlier in this
   * run, or else from the target repository itself (201 when the blob is already there, §1.8). Either way a 202
   * opens the upload session the bytes then go to, so asking costs nothing when the blob is missing.
   */
  async function transfer(job: BlobJob, signal: AbortSignal, read?: BlobReader): Promise<BlobOutcome> {
    signal.throwIfAborted();
    const holder = [...holdersOf(job.target.registry, job.digest)].find((repository) => repository !== job.target.repository);
    const fetch = (): Promise<SourceBlob> =>
      read !== undefined ? read(signal).then((bytes) => ({ body: bytes, size: bytes.length })) : readSource(job, signal);
    const early = holder === undefined && job.fresh ? fetch() : undefined;
    // handled here so a failure waiting behind the probe is not "unhandled"; it is thrown where it is awaited
    early?.catch(() => undefined);
    const dropEarly = () => void early?.then((blob) => Buffer.isBuffer(blob.body) || blob.body.destroy(), () => undefined);
    let mount: Awaited<ReturnType<typeof mountOrOpen>>;
    try {
      mount = await mountOrOpen(job, holder ?? job.target.repository, signal);
      if (mount === 'mounted' && holder !== undefined) {
        dropEarly();
        return { kind: 'mounted' };
      }
      if (mount === 'mounted') {
        // already there from an earlier run: its size must still be what the manifest claims
        const present = await client.headBlob(job.target, job.digest, signal);
        if (present !== undefined) {
          dropEarly();
          checkSize(job, present, `${job.target.registry}/${job.target.repository}`);
          return { kind: 'skipped' };
        }
      }
    } catch (error) {
      dropEarly();
      throw error;
    }
    const uploadUrl = mount === 'mounted' ? undefined : mount;
    const blob = await (early ?? fetch());
    try {
      if (blob.size !== undefined && blob.size !== job.size) {
        throw new GcrsyncError(
          'DIGEST_MISMATCH',
          `blob ${job.digest} of ${job.source.registry}/${job.source.repository} is ${blob.size} bytes, the manifest says ${job.size}`,
          { ref: `${job.source.registry}/${job.source.repository}@${job.digest}` },
        );
      }
      await client.uploadBlob(job.target, job.digest, job.size, blob.body, signal, {
        ...(options.chunkBytes !== undefined && { chunkBytes: options.chunkBytes }),
        ...(uploadUrl !== undefined && { uploadUrl }),
      });
    } finally {
      if (!Buffer.isBuffer(blob.body)) blob.body.destroy();
    }
    return { kind: 'uploaded', bytes: job.size };
  }

  function transferWithRetries(job: BlobJob, signal: AbortSignal, read?: BlobReader): Promise<BlobOutcome> {
    return retrying(() => transfer(job, signal, read), {
      signal,
      retries: TRANSFER_RETRIES,
      delayMs: (attempt) => backoffDelay(attempt, DEFAULT_RETRY_POLICY),
      onRetry: (error, attempt) => logger.debug('blob transfer failed; starting it again', { digest: job.digest, attempt: attempt + 1, error: String(error) }),
    });
  }

  async function ensure(job: BlobJob, signal: AbortSignal, read?: BlobReader): Promise<BlobOutcome> {
    const key = `${job.target.registry} ${job.digest}`;
    // On the same registry the source repository holds every blob its manifest names: mount from it.
    if (job.source.registry === job.target.registry) holdersOf(job.source.registry, job.digest).add(job.source.repository);
    for (;;) {
      signal.throwIfAborted();
      if (holdersOf(job.target.registry, job.digest).has(job.target.repository)) {
        const known = knownSizes.get(key);
        if (known !== undefined) checkSize(job, known, `${job.target.registry}/${job.target.repository}`);
        return record({ kind: 'skipped' });
      }
      const pending = inFlight.get(key);
      if (pending) {
        // Whatever its outcome, look again: on success the blob is now mountable, on failure this job tries itself.
        await waitAbortable(
          pending.then(
            () => undefined,
            () => undefined,
          ),
          signal,
        );
        continue;
      }
      const running = queue.add(() => transferWithRetries(job, signal, read), { throwOnTimeout: true, signal });
      inFlight.set(key, running);
      try {
        const outcome = await running;
        holdersOf(job.target.registry, job.digest).add(job.target.repository);
        if (outcome.kind !== 'mounted') knownSizes.set(key, job.size);
        logger.debug(`blob ${outcome.kind}`, { digest: job.digest, target: `${job.target.registry}/${job.target.repository}` });
        return record(outcome);
      } finally {
        if (inFlight.get(key) === running) inFlight.delete(key);
      }
    }
  }

  return {
    ensure,
    stats: () => ({ ...counts }),
    async close() {
      unfollow();
      queue.clear();
      await queue.onIdle();
    },
  };
}
