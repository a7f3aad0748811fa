import type { Answer } from './host-limiter.js';

/** How many of something (images, blob transfers) may run at once: a number that may change during the run. */
export interface ConcurrencyLimit {
  readonly value: number;
  /** calls `listener` with each new value; returns its removal */
  onChange(listener: (value: number) => void): () => void;
}

/** A fixed number, or one that adapts. */
export type Concurrency = number | ConcurrencyLimit;

/** Follows a concurrency as it changes (`apply` gets the first value at once); returns the end of following. */
export function followConcurrency(concurrency: Concurrency, apply: (value: number) => void): () => void {
  if (typeof concurrency === 'number') {
    apply(Math.max(1, concurrency));
    return () => undefined;
  }
  apply(concurrency.value);
  return concurrency.onChange(apply);
}

export interface AdaptiveBounds {
  /** where it starts, and stays while every host answers within a cheap round trip */
  initial: number;
  /** it never grows past this */
  max: number;
}

/**
 * A concurrency that adapts to how the registries answer, as each host's request window does (AIMD, as TCP's
 * congestion window), but for work made of several requests in a row (an image is ~7 round trips: manifest GET,
 * blob transfers, manifest PUT, referrers GET). It grows by one for each answer from a far host that
 * came about as fast as that host's fastest and found its window open (the round trip was the whole wait): about
 * doubling each round trip while nothing queues, slower as answers start queueing (in the window, the pool, the
 * registry or this process's CPU), not at all once they all do. A 429 or 503 or a dropped connection from any host
 * halves it, once per round of requests, never below 1; from then on it grows by about one per round of answers.
 * Hosts that answer within a cheap round trip (loopback, CPU-bound registries) tell it nothing: it stays where it
 * started.
 */
export class AdaptiveConcurrency implements ConcurrencyLimit {
  private current: number;
  private slowStart = true;
  /** when it last halved: answers to requests sent before then were counted in that halving */
  private shrunkAt = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<(value: number) => void>();

  constructor(private readonly bounds: AdaptiveBounds) {
    this.current = Math.max(1, Math.min(bounds.initial, bounds.max));
  }

  get value(): number {
    return Math.floor(this.current);
  }

  onChange(listener: (value: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Learns from one answer (HostLimiter.observe). */
  observe(answer: Answer): void {
    const before = this.value;
    if (answer.outcome === 'throttled' || answer.outcome === 'dropped') {
      if (answer.sentAt >= this.shrunkAt) {
        this.current = Math.max(1, this.current / 2);
        this.shrunkAt = answer.answeredAt;
        this.slowStart = false;
      }
    } else if (answer.hidesRoundTrip) {
      this.current = Math.min(this.bounds.max, this.current + (this.slowStart ? 1 : 1 / before));
    }
    const after = this.value;
    if (after !== before) for (const listener of this.listeners) listener(after);
  }
}
