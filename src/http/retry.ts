import { GcrsyncError } from '../errors.js';

/** How the HTTP client retries; the only place in gcrsync that decides to try a request again. */
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
const RETRYABLE_STATUS = new Set([408, 429, 499, 500, 502, 503, 504, 522]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

// Failures of the connection itself, where the request may never have reached the registry.
const RETRYABLE_ERROR_CODES = new Set([
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
]);

/** The errno/undici code of an error or of its causes. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryableError(error: unknown): boolean {
  const code = networkErrorCode(error);
  return code !== undefined && RETRYABLE_ERROR_CODES.has(code);
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
 * retry (not retryable, attempts used up, or Retry-After longer than the policy allows).
 */
export function retryDelayForStatus(
  status: number,
  retryAfter: string | undefined,
  attempt: number,
  policy: RetryPolicy,
  nowMs: number = Date.now(),
): number | undefined {
  if (!isRetryableStatus(status) || attempt >= policy.retries) return undefined;
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked === undefined) return backoffDelay(attempt, policy);
  return asked > policy.maxRetryAfterMs ? undefined : asked;
}

/** Waits `ms`, or rejects with ABORTED as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortedError(): GcrsyncError {
  return new GcrsyncError('ABORTED', 'aborted');
}
