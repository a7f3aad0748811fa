import PQueue from 'p-queue';
import { GcrsyncError, describeError, isGcrsyncError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { ListingClient } from './listing-client.js';
import type { Listing, ListingProblem, SourceTag } from './source.js';
import { digestDefect, quoteUntrusted, tagDefect } from './untrusted.js';

export interface ListOptions {
  /** most registry requests in flight at once, across the whole listing (default 20) */
  queryLimit?: number;
  signal: AbortSignal;
  logger?: Logger;
  /** bounds on what one listing may grow to; defaults in DEFAULT_LISTING_LIMITS */
  limits?: Partial<ListingLimits>;
}

/** A hostile registry can answer forever: every listing stops at these, reporting where it stopped. */
export interface ListingLimits {
  /** levels of `child` below the namespace the Google walk follows */
  maxDepth: number;
  /** repositories one namespace listing visits */
  maxRepositories: number;
  /** listing queries of one listing (a tags/list walk of several pages counts once, so does a manifest HEAD) */
  maxRequests: number;
  /** tags one namespace listing collects */
  maxTags: number;
}

// registry.k8s.io and gcr.io namespaces are a few levels deep and hold thousands of repositories, not tens of thousands
export const DEFAULT_LISTING_LIMITS: ListingLimits = { maxDepth: 16, maxRepositories: 50_000, maxRequests: 100_000, maxTags: 1_000_000 };

export const DEFAULT_QUERY_LIMIT = 20;

/** How a repository is named in problems and logs; the registry root has no path of its own. */
export function subjectOf(path: string): string {
  return path === '' ? '<root>' : path;
}

/**
 * The state of one listing: every registry request goes through one queue, so `queryLimit` bounds the
 * whole run, and a failure or a refused name becomes a problem instead of ending the listing.
 */
export class ListingRun {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  private readonly queue: PQueue;
  private readonly tags: SourceTag[] = [];
  private readonly problems: ListingProblem[] = [];
  private readonly limitsHit = new Set<keyof ListingLimits>();
  private headRequests = 0;
  private spawned = 0;
  readonly limits: ListingLimits;

  constructor(
    readonly client: ListingClient,
    readonly registry: string,
    options: ListOptions,
  ) {
    const queryLimit = options.queryLimit ?? DEFAULT_QUERY_LIMIT;
    if (!Number.isInteger(queryLimit) || queryLimit < 1) {
      throw new GcrsyncError('USAGE', `query limit must be a positive integer, got ${queryLimit}`);
    }
    this.queue = new PQueue({ concurrency: queryLimit });
    this.logger = options.logger ?? silentLogger;
    this.signal = options.signal;
    this.limits = { ...DEFAULT_LISTING_LIMITS, ...options.limits };
  }

  /**
   * Records (once per limit) that the listing stopped growing at `limit`: a problem, so the run exits 1 and
   * says where, while everything listed so far is synced.
   */
  stopAt(limit: keyof ListingLimits, subject: string, what: string): void {
    if (this.limitsHit.has(limit)) return;
    this.limitsHit.add(limit);
    const message = `listing ${this.registry} stopped at ${what} (${limit} ${this.limits[limit]}); what was listed so far is synced`;
    this.logger.warn('listing limit reached', { registry: this.registry, subject, limit, value: this.limits[limit] });
    this.problems.push({ subject, error: new GcrsyncError('HOSTILE_RESPONSE', message, { ref: `${this.registry}/${subject}` }) });
  }

  /** Runs one request under the query limit and hands back its result or its error. */
  query<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.queue.add(() => work(this.signal), { throwOnTimeout: true });
  }

  /** Queues a request whose failure is recorded as a problem about `subject`; the listing goes on. */
  spawn(subject: string, work: (signal: AbortSignal) => Promise<void>): void {
    if (this.spawned >= this.limits.maxRequests) {
      this.stopAt('maxRequests', subject, `${this.limits.maxRequests} listing requests`);
      return;
    }
    this.spawned += 1;
    void this.queue.add(async () => {
      if (this.signal.aborted) return;
      try {
        await work(this.signal);
      } catch (error) {
        if (this.signal.aborted) return;
        this.fail(subject, error);
      }
    });
  }

  fail(subject: string, error: unknown): void {
    const problem = isGcrsyncError(error)
      ? error
      : new GcrsyncError('REGISTRY', `listing ${subject} failed: ${describeError(error)}`, { ref: `${this.registry}/${subject}`, cause: error });
    this.logger.warn('listing problem', { registry: this.registry, subject, code: problem.code, error: problem.message });
    this.problems.push({ subject, error: problem });
  }

  /** Records that a registry answer held a name we will not use; it never becomes a path or a request. */
  refuse(subject: string, what: string, value: unknown, why: string): void {
    const message = `refused ${what} ${quoteUntrusted(value)} in the answer for ${this.registry}/${subject}: it ${why}`;
    this.logger.warn('refused hostile name in registry answer', { registry: this.registry, subject, what, why });
    this.problems.push({ subject, error: new GcrsyncError('HOSTILE_RESPONSE', message, { ref: `${this.registry}/${subject}` }) });
  }

  addTag(tag: SourceTag): void {
    if (this.tags.length >= this.limits.maxTags) {
      this.stopAt('maxTags', tag.repository, `${this.limits.maxTags} tags`);
      return;
    }
    this.tags.push(tag);
  }

  /** Tags of a repository that answers only the standard tags/list: each digest costs a manifest HEAD. */
  listPlainRepository(repository: string): void {
    this.spawn(subjectOf(repository), async (signal) => {
      const tags = await this.client.listTags({ registry: this.registry, repository }, signal);
      for (const tag of new Set(tags)) {
        const defect = tagDefect(tag);
        if (defect !== undefined) this.refuse(repository, 'tag', tag, defect);
        else this.resolveByHead(repository, tag);
      }
    });
  }

  /** Finds a tag's digest with a manifest HEAD, for registries (or answers) that did not say it. */
  resolveByHead(repository: string, tag: string): void {
    const subject = `${repository}:${tag}`;
    this.spawn(subject, async (signal) => {
      this.headRequests += 1;
      const descriptor = await this.client.headManifest({ registry: this.registry, repository }, tag, signal);
      if (descriptor === undefined) {
        throw new GcrsyncError('NOT_FOUND', `${this.registry}/${subject} was listed but its manifest is gone`, { ref: `${this.registry}/${subject}` });
      }
      const defect = digestDefect(descriptor.digest);
      if (defect !== undefined) {
        this.refuse(subject, 'digest', descriptor.digest, defect);
        return;
      }
      this.addTag({ repository, tag, digest: descriptor.digest, mediaType: descriptor.mediaType });
    });
  }

  /** Waits for every queued request; a cancelled listing is an error, never a partial result. */
  async finish(): Promise<Listing> {
    await this.queue.onIdle();
    if (this.signal.aborted) {
      throw new GcrsyncError('ABORTED', `listing ${this.registry} was cancelled`, { cause: this.signal.reason });
    }
    this.logger.debug('listing done', { registry: this.registry, tags: this.tags.length, manifestHeads: this.headRequests, problems: this.problems.length });
    return sortListing({ tags: this.tags, problems: this.problems });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders tags by (repository, tag) and problems by subject, so output and metadata diffs are stable. */
export function sortListing(listing: Listing): Listing {
  return {
    tags: [...listing.tags].sort((a, b) => compare(a.repository, b.repository) || compare(a.tag, b.tag)),
    problems: [...listing.problems].sort((a, b) => compare(a.subject, b.subject) || compare(a.error.message, b.error.message)),
  };
}

/** The source could not be listed at all: the caller stops before changing anything. */
export function sourceUnreachable(source: { registry: string; namespace: string }, cause: unknown): GcrsyncError {
  const where = source.namespace === '' ? source.registry : `${source.registry}/${source.namespace}`;
  return new GcrsyncError('SOURCE_UNREACHABLE', `cannot list source ${where}: ${describeError(cause)}`, { ref: where, cause });
}

/** A source namespace with nothing under it is a wrong --source (a typo, the wrong registry), not "0 tags, done". */
export function namespaceMissing(source: { registry: string; namespace: string }, why: string): GcrsyncError {
  const where = source.namespace === '' ? source.registry : `${source.registry}/${source.namespace}`;
  return new GcrsyncError('NOT_FOUND', `source ${where} does not exist (${why}); check --source / the job's source`, { ref: where });
}
