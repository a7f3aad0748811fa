import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { redactAll, silentLogger, type Logger } from '../log.js';
import { USER_AGENT } from '../package-info.js';
import { Dispatchers, httpsFirst, tlsModeOf, type NetworkOptions, type TlsMode } from './dispatcher.js';
import { answeredPlainHttp, isHttpsPortAnswer, networkHint, plainHttpToTlsHint } from './network-hints.js';
import { linkedSignal } from './linked-signal.js';
import { HttpResponse, ResponseHeaders, type RawHeaders } from './response.js';
import { LoopbackSchemes, plainHttp } from './loopback-scheme.js';
import { HostBackoffs, isThrottleStatus, systemClock, type Clock } from './host-backoff.js';
import { DEFAULT_WINDOW, HostLimiter, type Answer, type Outcome } from './host-limiter.js';
import { DEFAULT_RETRY_POLICY, abortedError, backoffDelay, isTransient, networkErrorCode, parseRetryAfter, retrying, retryDelayForStatus, timedOut, type RetryPolicy } from './retry.js';
import { errorForResponse } from './status-error.js';
import { assertRequestable, checkFollowUrl, registryOrigin, safeUrl, type InsecureHosts } from './url-policy.js';

export { HttpResponse, ResponseHeaders } from './response.js';
export type { RetryPolicy } from './retry.js';

export interface HttpClientOptions {
  logger?: Logger;
  /** hosts (`host` or `host:port`) reachable over plain HTTP besides loopback */
  insecureRegistries?: string[];
  retry?: RetryPolicy;
  /** time for the per-host backoff (tests move it by hand) */
  clock?: Clock;
  /** longest wait for response headers, and for each piece of a body */
  timeoutMs?: number;
  /**
   * longest a whole request may take, retries, redirects and reading the body included (default 15 min): a body
   * trickled a byte at a time never trips the per-piece timeout, so only a total deadline ends it
   */
  deadlineMs?: number;
  /** default `gcrsync/<version> (+<repository>)` */
  userAgent?: string;
  /**
   * open connections per origin (scheme+host+port), and the ceiling of each host's adaptive window of requests
   * awaiting an answer (the window starts lower and grows while latency hides round trips)
   */
  connectionsPerOrigin?: number;
  /** proxy, TLS trust and per-registry TLS modes */
  network?: NetworkOptions;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL | string;
  /** header names in any case; an `authorization` header only goes to the host of `url` */
  headers?: Record<string, string>;
  /** a Buffer or string may be re-sent (retries, 307/308); a stream is sent once */
  body?: Buffer | string | Readable;
  /** follow 3xx answers by hand (default true); false returns them as they are */
  followRedirects?: boolean;
  /** retry network errors and 408/429/5xx (default true); a stream body is never retried */
  retry?: boolean;
  /** this request's total deadline instead of the client's (a token exchange waits less, a big blob more) */
  deadlineMs?: number;
  /**
   * Called when a host reached through a redirect answers 401: returns an Authorization value (typically an
   * anonymous Bearer token for that host's challenge) to try once more with, or undefined to give up.
   */
  answerChallenge?: (response: HttpResponse, signal: AbortSignal) => Promise<string | undefined>;
}

export interface GetJsonOptions {
  headers?: Record<string, string>;
  /** refuse (HOSTILE_RESPONSE) bodies longer than this; default 16 MiB */
  maxBytes?: number;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 10;
export const DEFAULT_DEADLINE_MS = 15 * 60_000;
// the slowest average a blob transfer may have before its deadline: 1 MiB/s (a 5 GiB layer gets 1 h 40 min)
const SLOWEST_BYTES_PER_MS = 1024 * 1024 / 1000;

/** The deadline of a request that sends or receives `bytes` (blob GET, upload PUT or PATCH). */
export function deadlineForBytes(bytes: number): number {
  return DEFAULT_DEADLINE_MS + Math.ceil(bytes / SLOWEST_BYTES_PER_MS);
}
const DEFAULT_JSON_LIMIT = 16 * 1024 * 1024;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

function lowerCaseHeaders(headers: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function isReplayable(body: HttpRequest['body']): boolean {
  return !(body instanceof Readable);
}

/**
 * The one HTTP client of gcrsync: an undici Agent with a bounded keep-alive pool per origin, redirects followed
 * by hand (so Authorization never leaks to another host), retries through `retrying` with a backoff shared per
 * host (a throttled host pauses every request to it).
 */
export class HttpClient {
  private readonly dispatchers: Dispatchers;
  private readonly logger: Logger;
  private readonly insecure: InsecureHosts;
  private readonly tls: Record<string, TlsMode> | undefined;
  private readonly loopbackSchemes = new LoopbackSchemes();
  private readonly retryPolicy: RetryPolicy;
  private readonly backoffs: HostBackoffs;
  private readonly limiter: HostLimiter;
  private readonly clock: Clock;
  private readonly userAgent: string;
  private readonly deadlineMs: number;
  private closed = false;

  constructor(options: HttpClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const connections = options.connectionsPerOrigin ?? DEFAULT_WINDOW.max;
    const pool = {
      connections,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 30_000),
    };
    this.dispatchers = new Dispatchers(pool, options.network);
    this.logger = options.logger ?? silentLogger;
    this.tls = options.network?.tls;
    const plainByMode = Object.entries(this.tls ?? {}).flatMap(([host, mode]) => (mode === 'http' ? [host] : []));
    this.insecure = [...(options.insecureRegistries ?? []), ...plainByMode];
    this.retryPolicy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.clock = options.clock ?? systemClock;
    this.backoffs = new HostBackoffs(this.retryPolicy, this.clock);
    this.limiter = new HostLimiter({ ...DEFAULT_WINDOW, initial: Math.min(DEFAULT_WINDOW.initial, connections), min: Math.min(DEFAULT_WINDOW.min, connections), max: connections }, this.clock);
    this.userAgent = options.userAgent ?? USER_AGENT;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  /**
   * `http://host` for insecure registries, `https://host` for the rest; loopback registries are tried over
   * HTTPS first and spoken to over HTTP once they answer that way, unless a TLS mode is set for them.
   */
  originFor(host: string): string {
    if (this.loopbackSchemes.answersPlainHttp(host)) return `http://${host}`;
    if (httpsFirst(host, this.tls) || tlsModeOf(host, this.tls) === 'skip-verify' || tlsModeOf(host, this.tls) === 'verify') return `https://${host}`;
    return registryOrigin(host, this.insecure);
  }

  /** Tells `listener` how each answer went (what adaptive image and blob concurrency learn from); returns its removal. */
  observeAnswers(listener: (answer: Answer) => void): () => void {
    return this.limiter.observe(listener);
  }

  /** Resolves a Link/Location/realm value against `from` and applies the URL policy (HOSTILE_RESPONSE). */
  followUrl(from: URL, target: string): URL {
    return checkFollowUrl(from, target, this.insecure);
  }

  /**
   * Sends one request, following up to 10 redirects by hand and retrying transient failures. Any status comes
   * back as a response (the caller decides what is an error); network failures after the last retry throw
   * REGISTRY (transient when the network fault is), an abort throws ABORTED.
   */
  async request(req: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const first = typeof req.url === 'string' ? new URL(req.url) : req.url;
    assertRequestable(first, this.insecure);
    const deadlineMs = req.deadlineMs ?? this.deadlineMs;
    // aborted by the run's signal or by the deadline
    const bounded = linkedSignal(signal);
    const timer = setTimeout(() => {
      bounded.abort(new GcrsyncError('REGISTRY', `${req.method} ${safeUrl(first)} took longer than ${deadlineMs} ms (the whole request, body included)`, { ref: safeUrl(first), cause: timedOut(deadlineMs) }));
    }, deadlineMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      bounded.dispose();
    };
    try {
      const response = await this.requestWithin(req, first, bounded.signal);
      // the deadline keeps running while the caller reads the body; it ends with the body (a HEAD has none)
      if (req.method === 'HEAD') done();
      else response.body.once('close', done);
      return response;
    } catch (error) {
      done();
      if (bounded.signal.aborted && !signal.aborted) throw bounded.signal.reason;
      throw error;
    }
  }

  private async requestWithin(req: HttpRequest, first: URL, signal: AbortSignal): Promise<HttpResponse> {
    const baseHeaders = lowerCaseHeaders(req.headers);
    if (!baseHeaders['user-agent']) baseHeaders['user-agent'] = this.userAgent;
    let url = first;
    let method = req.method;
    let body = req.body;
    let foreignAuthorization: string | undefined;
    let challengeAnswered = false;

    for (let hop = 0; ; hop++) {
      const headers = { ...baseHeaders };
      if (url.host !== first.host) {
        // RFC 9110 §15.4 and the distribution spec: credentials never follow a redirect to another host
        delete headers.authorization;
        if (foreignAuthorization !== undefined) headers.authorization = foreignAuthorization;
      }
      if (method === 'GET' || method === 'HEAD') delete headers['content-length'];
      const response = await this.sendWithRetries(method, url, headers, body, req.retry !== false && isReplayable(body), signal);

      if (REDIRECT_STATUS.has(response.status) && req.followRedirects !== false) {
        const location = response.headers.get('location');
        if (location === undefined) return response;
        await response.discard();
        if (hop >= MAX_REDIRECTS) {
          throw new GcrsyncError('HOSTILE_RESPONSE', `more than ${MAX_REDIRECTS} redirects from ${safeUrl(first)}`, { ref: safeUrl(first) });
        }
        const next = this.followUrl(url, location);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete baseHeaders['content-type'];
          delete baseHeaders['content-length'];
        } else if (!isReplayable(body)) {
          throw new GcrsyncError('REGISTRY', `${method} ${safeUrl(url)} redirected a streamed upload to ${safeUrl(next)}`, { ref: safeUrl(url) });
        }
        if (next.host !== url.host) foreignAuthorization = undefined;
        this.logger.debug('redirect', { from: safeUrl(url), to: safeUrl(next), status: response.status });
        url = next;
        continue;
      }

      if (response.status === 401 && url.host !== first.host && req.answerChallenge && !challengeAnswered && isReplayable(body)) {
        challengeAnswered = true;
        const authorization = await req.answerChallenge(response, signal);
        if (authorization !== undefined) {
          await response.discard();
          foreignAuthorization = authorization;
          continue;
        }
      }
      return response;
    }
  }

  /** GET a JSON document (no registry auth): non-2xx → GcrsyncError by status, oversized/not JSON → HOSTILE_RESPONSE. */
  async getJson(url: URL | string, opts: GetJsonOptions): Promise<unknown> {
    const response = await this.request(
      { method: 'GET', url, headers: { accept: 'application/json', ...opts.headers } },
      opts.signal,
    );
    if (response.status < 200 || response.status > 299) throw await errorForResponse(response, safeUrl(response.url));
    return response.json(opts.maxBytes ?? DEFAULT_JSON_LIMIT);
  }

  /**
   * Runs `read` (a request and the reading of its whole body) again when the body was cut off by the network.
   * `request` retries only until response headers arrive; a body that breaks after them is retried here, as
   * often as the retry policy allows. Only for reads that are safe to repeat (GET of manifests and listings).
   */
  async readRetrying<T>(read: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return retrying(read, {
      signal,
      retries: this.retryPolicy.retries,
      delayMs: (attempt) => backoffDelay(attempt, this.retryPolicy),
      // a cut-off body carries the answer's status and the network error; a request that never got an answer has no status
      retryable: (error) => isGcrsyncError(error, 'REGISTRY') && error.info.status !== undefined && isTransient(error),
      onRetry: (error, _attempt, delayMs) => this.logger.debug('answer cut off; asking again', { error: errorText(error), delayMs }),
    });
  }

  /** Closes the pool once its requests finish; calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dispatchers.close();
  }

  private sendWithRetries(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: HttpRequest['body'],
    retry: boolean,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    return retrying(() => this.sendOnce(method, url, headers, body, signal), {
      signal,
      retries: retry ? this.retryPolicy.retries : 0,
      delayMs: (attempt) => backoffDelay(attempt, this.retryPolicy),
      retryResult: (response, attempt) => retryDelayForStatus(response.status, response.headers.get('retry-after'), attempt, this.retryPolicy, this.clock.now()),
      release: (response) => response.discard(),
      onRetry: (failure, _attempt, delayMs) => {
        const why = failure instanceof HttpResponse ? { status: failure.status } : { code: networkErrorCode((failure as Error).cause) };
        this.logger.debug('retrying', { method, url: safeUrl(url), ...why, delayMs });
      },
    });
  }

  /** One attempt, to the scheme a loopback registry answers (found out by one request per host, see LoopbackSchemes). */
  private async sendOnce(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: HttpRequest['body'],
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    const { url: target, endProbe } = await this.loopbackSchemes.settle(url, signal, httpsFirst(url.host, this.tls));
    try {
      return await this.sendTo(target, method, headers, body, signal, endProbe);
    } finally {
      endProbe?.();
    }
  }

  /** Waits out the host's pause, sends, and tells the host's backoff how the answer went. */
  private async sendTo(
    target: URL,
    method: HttpMethod,
    headers: Record<string, string>,
    body: HttpRequest['body'],
    signal: AbortSignal,
    /** ends this request's probe of a loopback registry's scheme, once the first answer says which it speaks */
    endProbe?: () => void,
  ): Promise<HttpResponse> {
    // asked first so a request to a host that is not paused (nearly all of them) awaits no promise for it
    if (this.backoffs.pauseLeft(target.host) > 0) await this.backoffs.wait(target.host, signal);
    const slot = await this.limiter.acquire(target.host, signal);
    const { sentAt } = slot;
    let answer: Awaited<ReturnType<Dispatcher['request']>>;
    try {
      answer = await this.dispatchers.for(target).request({
        origin: target.origin,
        path: target.pathname + target.search,
        method,
        headers,
        body: method === 'GET' || method === 'HEAD' ? null : (body ?? null),
        // undici closes the connection after every HEAD unless told otherwise (a guard against servers that send a
        // body anyway); registries answer HEAD properly, and a no-op run is mostly HEADs: keep the pool warm
        ...(method === 'HEAD' && { reset: false }),
        // the request's own signal (request() links it to the run's), so undici's listener on it never piles up on
        // the run's one signal shared by every request in flight
        signal,
      });
    } catch (error) {
      slot.release(outcomeOfFailure(error));
      if (signal.aborted) throw abortedError();
      if (isGcrsyncError(error)) throw error;
      // crane's rule for loopback: HTTPS first, plain HTTP when the registry answers in plain HTTP
      if (target.protocol === 'https:' && httpsFirst(target.host, this.tls) && answeredPlainHttp(error)) {
        this.loopbackSchemes.answeredPlain(target.host);
        endProbe?.();
        this.logger.debug('loopback registry answers plain HTTP', { registry: target.host });
        return this.sendTo(plainHttp(target), method, headers, body, signal);
      }
      const proxy = this.dispatchers.proxyOf(target);
      const hint = networkHint(error, target, proxy === undefined ? undefined : safeUrl(proxy));
      throw new GcrsyncError('REGISTRY', `${method} ${safeUrl(target)} failed: ${hint ?? networkErrorCode(error) ?? errorText(error)}`, {
        ref: safeUrl(target),
        cause: error,
      });
    }
    slot.release(isThrottleStatus(answer.statusCode) ? 'throttled' : 'answered');
    if (endProbe !== undefined) {
      this.loopbackSchemes.answeredTls(target.host);
      endProbe();
    }
    // building the redacted URL costs real CPU over thousands of requests: only when debug lines are printed
    if (this.logger.debugEnabled !== false) {
      this.logger.debug('http', { method, url: safeUrl(target), status: answer.statusCode, ms: this.clock.now() - sentAt });
    }
    const responseHeaders = new ResponseHeaders(answer.headers as RawHeaders);
    let response = new HttpResponse(answer.statusCode, target, responseHeaders, answer.body);
    if (target.protocol === 'http:' && answer.statusCode === 400 && responseHeaders.get('content-type') === undefined) {
      // Go and nginx answer plain HTTP on a TLS port with a bare 400 that names the mistake (Go's has no headers at
      // all, which is all a HEAD can tell)
      const text = method === 'HEAD' ? '' : await answer.body.text();
      const bare = Object.keys(answer.headers).length === 0;
      if ((method === 'HEAD' && bare) || isHttpsPortAnswer(answer.statusCode, text.slice(0, 200))) {
        if (method === 'HEAD') await answer.body.dump();
        throw new GcrsyncError('REGISTRY', `${method} ${safeUrl(target)} failed: ${plainHttpToTlsHint(target.host)}`, { ref: safeUrl(target), status: 400 });
      }
      if (method !== 'HEAD') response = new HttpResponse(answer.statusCode, target, responseHeaders, Readable.from([Buffer.from(text)]));
    }
    const asked = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
    this.backoffs.observe(target.host, sentAt, response.status, asked !== undefined && asked <= this.retryPolicy.maxRetryAfterMs ? asked : undefined);
    return response;
  }
}

// a registry shedding load resets connections instead of answering 503
const DROPPED_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

function outcomeOfFailure(error: unknown): Outcome {
  const code = networkErrorCode(error);
  return code !== undefined && DROPPED_CONNECTION_CODES.has(code) ? 'dropped' : 'failed';
}

function errorText(error: unknown): string {
  return redactAll(error instanceof Error ? error.message : String(error));
}
