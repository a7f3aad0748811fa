import { backoffDelay, sleep, type RetryPolicy } from './retry.js';

/** Time as the backoff sees it; tests pass a clock they move by hand. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep };

// a registry asking us to slow down says so with these; a reset or a 500 is one request's bad luck
const THROTTLE_STATUS = new Set([429, 503]);

export function isThrottleStatus(status: number): boolean {
  return THROTTLE_STATUS.has(status);
}

// far past any policy's ceiling (maxDelayMs caps the pause); the cap only keeps the level from growing forever
const MAX_LEVEL = 16;

interface HostState {
  /** how many throttled answers in a row the host gave, less one per good answer since */
  level: number;
  /** no request to the host starts before this */
  pausedUntil: number;
  /** when `level` last rose: answers to requests sent before it say nothing new */
  raisedAt: number;
}

/**
 * Backoff shared by every request to one host (like regclient's per-host backoff): a 429/503 storm from one
 * registry pauses every request to that host, not each on its own, and other hosts go on. The pause grows with
 * each throttled answer (doubling, as the retry policy's backoff) and is at least what Retry-After asked; each
 * good answer takes one step off again.
 */
export class HostBackoffs {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    private readonly policy: RetryPolicy,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Milliseconds a request to `host` still has to wait before it may start. */
  pauseLeft(host: string): number {
    const state = this.hosts.get(host);
    return state === undefined ? 0 : Math.max(0, state.pausedUntil - this.clock.now());
  }

  /** Waits until `host` may be asked again (a pause set meanwhile is waited for too). */
  async wait(host: string, signal: AbortSignal): Promise<void> {
    for (let left = this.pauseLeft(host); left > 0; left = this.pauseLeft(host)) await this.clock.sleep(left, signal);
  }

  /**
   * Takes note of an answer from `host` to a request sent at `sentAt`. A throttled one raises the level (once
   * per storm: not for requests already on their way when it last rose) and pauses the host for the level's
   * backoff or `retryAfterMs`, whichever is longer; any other answer lowers the level by one.
   */
  observe(host: string, sentAt: number, status: number, retryAfterMs?: number): void {
    const state = this.hosts.get(host) ?? { level: 0, pausedUntil: 0, raisedAt: Number.NEGATIVE_INFINITY };
    const now = this.clock.now();
    if (!isThrottleStatus(status)) {
      if (state.level > 0 && sentAt >= state.raisedAt) state.level--;
      if (state.level === 0 && state.pausedUntil <= now) this.hosts.delete(host);
      return;
    }
    if (sentAt >= state.raisedAt) {
      state.level = Math.min(state.level + 1, MAX_LEVEL);
      state.raisedAt = now;
    }
    const pause = Math.max(backoffDelay(state.level - 1, this.policy, this.random), retryAfterMs ?? 0);
    state.pausedUntil = Math.max(state.pausedUntil, now + pause);
    this.hosts.set(host, state);
  }
}
