import type { Clock } from '../../src/http/host-backoff.js';

/** A clock the test moves by hand; `slept` lists every sleep asked of it (each one moves the clock too). */
export function manualClock(start = 10_000): Clock & { slept: number[]; advance(ms: number): void } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
