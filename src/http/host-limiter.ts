import { abortedError } from './retry.js';
import type { Clock } from './host-backoff.js';

/** Bounds of a host's window: how many requests to it may wait for their answer at once. */
export interface WindowLimits {
  /** where every host starts (today's fixed default, right when round trips are cheap) */
  initial: number;
  /** a throttling host never pushes the window below this */
  min: number;
  /** the window never grows past this (the connection pool's size, so admitted requests never queue there) */
  max: number;
}

// A registry 100 ms away answers 8 requests at a time at 80 a second at most; 32 keep the images and blob transfers
// a run starts with (10 images, 32 blobs) from queueing behind each other's round trips, and farther registries
// (where images and blobs at a time grow too, adaptive-concurrency.ts) get up to 64.
export const DEFAULT_WINDOW: WindowLimits = { initial: 32, min: 2, max: 64 };

/**
 * How an admitted request ended: `answered` (any status but 429/503), `throttled` (429/503), `dropped` (the
 * connection was reset under it) or `failed` (anything else, which says nothing about load).
 */
export type Outcome = 'answered' | 'throttled' | 'dropped' | 'failed';

/**
 * How one answer went, for whoever adapts more than requests to it (images and blob transfers at a time): told
 * after the answer's window place is given back.
 */
export interface Answer {
  outcome: Outcome;
  sentAt: number;
  answeredAt: number;
  /**
   * the host is far (its fastest answer took 5 ms or more, over a few answers), this one came about as fast as the
   * fastest and it found a place in the window at once: nothing queued, the round trip was all the wait, so more
   * work at once would overlap more round trips
   */
  hidesRoundTrip: boolean;
}

export interface Slot {
  /** when the request was admitted (its answer's latency is measured from here) */
  readonly sentAt: number;
  release(outcome: Outcome): void;
}

// an answer within this multiple of the fastest one seen did not wait in any queue: the round trip dominates
const UNQUEUED_RATIO = 2;
// below this the round trip is cheap and more requests at once only add work for a CPU-bound registry
const CHEAP_ROUND_TRIP_MS = 5;
// answers a host must have given before it counts as far: the first few of a loopback registry on a busy machine
// can each take longer than a cheap round trip
const ANSWERS_BEFORE_FAR = 8;

interface HostWindow {
  window: number;
  inFlight: number;
  waiting: Array<() => void>;
  /** fastest answer seen from the host: its round trip plus the least work it does */
  fastestMs: number;
  answers: number;
  /** doubling per round trip until the first sign of a queue or of throttling, then one step per round trip */
  slowStart: boolean;
  /** when the window last shrank: answers to requests sent before then were already counted in that shrink */
  shrunkAt: number;
  /** when the window was last full (a request filled it or had to queue): growth only counts if it was the limit */
  fullAt: number;
}

/**
 * One adaptive window per host (AIMD, as TCP's congestion window): every request to the host waits for a place
 * in it, from sending until its answer's headers arrive. The window grows while answers come back about as fast
 * as the fastest one (added latency is hiding round trips, so more at once is pure gain) and the window was
 * full; it halves on 429/503 or a dropped connection (once per round of requests), never below `min`.
 */
export class HostLimiter {
  private readonly hosts = new Map<string, HostWindow>();
  private readonly listeners = new Set<(answer: Answer) => void>();

  constructor(
    private readonly limits: WindowLimits,
    private readonly clock: Clock,
  ) {}

  /** The host's current window (whole requests). */
  windowOf(host: string): number {
    return Math.floor(this.hosts.get(host)?.window ?? this.limits.initial);
  }

  /** Tells `listener` how every answer from any host went; returns its removal. */
  observe(listener: (answer: Answer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits for a place in the host's window; the caller must release it exactly once. */
  async acquire(host: string, signal: AbortSignal): Promise<Slot> {
    const state = this.stateOf(host);
    // a queued request is counted in by the release that admits it, so none can slip in between
    const waited = state.inFlight >= Math.floor(state.window) || state.waiting.length > 0;
    if (waited) {
      state.fullAt = this.clock.now();
      await this.queue(state, signal);
    } else if (++state.inFlight >= Math.floor(state.window)) state.fullAt = this.clock.now();
    const sentAt = this.clock.now();
    let released = false;
    return {
      sentAt,
      release: (outcome) => {
        if (released) return;
        released = true;
        this.release(state, sentAt, waited, outcome);
      },
    };
  }

  private stateOf(host: string): HostWindow {
    let state = this.hosts.get(host);
    if (state === undefined) {
      const window = Math.min(this.limits.max, Math.max(this.limits.min, this.limits.initial));
      state = { window, inFlight: 0, waiting: [], fastestMs: Number.POSITIVE_INFINITY, answers: 0, slowStart: true, shrunkAt: Number.NEGATIVE_INFINITY, fullAt: Number.NEGATIVE_INFINITY };
      this.hosts.set(host, state);
    }
    return state;
  }

  private queue(state: HostWindow, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortedError());
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        state.waiting.splice(state.waiting.indexOf(admit), 1);
        reject(abortedError());
      };
      state.waiting.push(admit);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(state: HostWindow, sentAt: number, waited: boolean, outcome: Outcome): void {
    const now = this.clock.now();
    const full = state.fullAt >= sentAt;
    let hidesRoundTrip = false;
    state.inFlight--;
    if (outcome === 'throttled' || outcome === 'dropped') {
      if (sentAt >= state.shrunkAt) {
        state.window = Math.max(this.limits.min, state.window / 2);
        state.shrunkAt = now;
        state.slowStart = false;
      }
    } else if (outcome === 'answered') {
      const latency = now - sentAt;
      state.fastestMs = Math.min(state.fastestMs, latency);
      const unqueued = state.fastestMs >= CHEAP_ROUND_TRIP_MS && latency <= state.fastestMs * UNQUEUED_RATIO;
      if (!unqueued && state.fastestMs >= CHEAP_ROUND_TRIP_MS) state.slowStart = false;
      if (unqueued && full) {
        state.window = Math.min(this.limits.max, state.window + (state.slowStart ? 1 : 1 / Math.floor(state.window)));
      }
      hidesRoundTrip = state.answers >= ANSWERS_BEFORE_FAR && unqueued && !waited;
      state.answers++;
    }
    while (state.waiting.length > 0 && state.inFlight < Math.floor(state.window)) {
      state.inFlight++;
      state.waiting.shift()!();
    }
    if (this.listeners.size === 0) return;
    const answer: Answer = { outcome, sentAt, answeredAt: now, hidesRoundTrip };
    for (const listener of this.listeners) listener(answer);
  }
}
