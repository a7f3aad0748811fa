import { GcrsyncError } from '../errors.js';

/**
 * "Try again?" for all of gcrsync: `isTransient` is the one rule saying whether a failure may pass on a later
 * attempt, `retrying` the one loop that makes those attempts (HTTP requests, blob transfers, config reads,
 * metadata pushes, and the executor asks `isTransient` before its end-of-run retry).
 */
export interface RetryPolicy {
  /** further attempts after the first (0 disables retries) */
  retries: number;
  /** first backoff step; each retry doubles it, then jitter takes up to half away */
  baseDelayMs: number;
  /** ceiling for the computed backoff */
  maxDelayMs: number;
  /** longest Retry-After gcrsync waits; a registry asking for more gets its 429/503 reported instead */
  maxRetryAfterMs: number;
}

// ggcr defaultRetryBackoff is 1 s ×3; a few short retries cover blips, and Retry-After covers real throttling.
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 15_000, maxRetryAfterMs: 60_000 };

// 499 and 522 come from nginx and Cloudflare front-ends (ggcr defaultRetryStatusCodes plus those seen in the wild)
const TRANSIENT_STATUS = new Set([408, 429, 499, 500, 502, 503, 504, 522]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status);
}

// Failures of the connection itself, where the request (or the rest of its answer) may never have arrived.
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

// gcrsync checks every digest and size before a registry can: when the registry still finds the bytes wrong or
// the upload session gone, bytes were lost on the way, and a fresh upload may well pass.
const LOST_UPLOAD_CODES = new Set(['DIGEST_INVALID', 'SIZE_INVALID', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);

// Failures about the image, the input or our setup: a second attempt would only repeat them.
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'USAGE',
  'CONFIG',
  'BAD_REFERENCE',
  'METADATA_CORRUPT',
  'AUTH',
  'NOT_FOUND',
  'HOSTILE_RESPONSE',
  'DIGEST_MISMATCH',
  'UNSUPPORTED',
  'ABORTED',
]);

// A lost push race is over once the remote stops moving; the daemon reports registry faults only as text.
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['RATE_LIMITED', 'GIT_PUSH_REJECTED', 'DOCKER']);

/** The errno/undici code of an error or of its causes. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    if (current instanceof GcrsyncError) return undefined;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A TLS alert refusing our certificate (none sent, or one it does not accept): OpenSSL's alert 116
 * "certificate required", or 42 "bad certificate" as Go's TLS sends when no client certificate came.
 */
function refusedClientCertificate(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; depth < 5 && e instanceof Error; e = e.cause, depth++) {
    if (/^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNKNOWN_CA)$/.test((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

/**
 * The one rule for "may a later attempt pass?". A broken connection decides first (a body cut off after its
 * status arrived is transient whatever the status); then the answer's status (408/429/5xx, or an upload the
 * registry lost); then what the error wraps; then the error code itself.
 */
export function isTransient(error: unknown): boolean {
  if (refusedClientCertificate(error)) return false;
  if (!(error instanceof GcrsyncError)) {
    const code = networkErrorCode(error);
    return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
  }
  if (PERMANENT_CODES.has(error.code)) return false;
  if (networkErrorCode(error.cause) !== undefined) return isTransient(error.cause);
  const { status, registryCode } = error.info;
  if (status !== undefined) return isTransientStatus(status) || (registryCode !== undefined && LOST_UPLOAD_CODES.has(registryCode));
  if (error.cause instanceof GcrsyncError) return isTransient(error.cause);
  return TRANSIENT_CODES.has(error.code);
}

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unparsable; a date in the past means 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Exponential backoff for retry number `attempt` (0-based), with up to half of it taken away at random. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(full / 2 + (full / 2) * random());
}

/**
 * How long to wait before retry `attempt` after an answer with `status`, or undefined when gcrsync should not
 * retry (not transient, attempts used up, or Retry-After longer than the policy allows).
 */
export function retryDelayForStatus(
  status: number,
  retryAfter: string | undefined,
  attempt: number,
  policy: RetryPolicy,
  nowMs: number = Date.now(),
): number | undefined {
  if (!isTransientStatus(status) || attempt >= policy.retries) return undefined;
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked === undefined) return backoffDelay(attempt, policy);
  return asked > policy.maxRetryAfterMs ? undefined : asked;
}

export interface RetryOptions<T> {
  signal: AbortSignal;
  /** further attempts after the first */
  retries: number;
  /** the pause before retry number `attempt` (0-based) */
  delayMs: (attempt: number) => number;
  /** failures worth another attempt (default `isTransient`) */
  retryable?: (error: unknown) => boolean;
  /**
   * A result that is itself a failure (an HTTP answer with status 503): the pause it asks for before the next
   * attempt, or undefined to keep it. On the last attempt the result is returned as it is.
   */
  retryResult?: (result: T, attempt: number) => number | undefined;
  /** releases a result that is being replaced by another attempt */
  release?: (result: T) => Promise<void>;
  /** told before each pause: the error or the result that failed */
  onRetry?: (failure: unknown, attempt: number, delayMs: number) => void;
}

/**
 * The one retry loop: runs `attempt(n)` until it succeeds, fails for good, or `retries` more attempts have
 * failed; an abort during an attempt or a pause ends it with ABORTED.
 */
export async function retrying<T>(attempt: (attempt: number) => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const { signal } = options;
  const retryable = options.retryable ?? isTransient;
  for (let n = 0; ; n++) {
    let delay: number | undefined;
    let failure: unknown;
    try {
      const result = await attempt(n);
      delay = n < options.retries ? options.retryResult?.(result, n) : undefined;
      if (delay === undefined) return result;
      failure = result;
      await options.release?.(result);
    } catch (error) {
      if (signal.aborted) throw abortedError();
      if (n >= options.retries || !retryable(error)) throw error;
      failure = error;
      delay = options.delayMs(n);
    }
    options.onRetry?.(failure, n, delay);
    await sleep(delay, signal);
  }
}

/** Waits `ms`, or rejects with ABORTED as soon as `signal` fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The cause of a failure that ran out of time (a request past its deadline, a hook killed): transient. */
export function timedOut(ms: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`no end within ${ms} ms`), { code: 'ETIMEDOUT' });
}

export function abortedError(): GcrsyncError {
  return new GcrsyncError('ABORTED', 'aborted');
}
