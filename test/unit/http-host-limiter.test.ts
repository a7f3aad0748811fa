import { strict as assert } from 'node:assert';
import { HostLimiter, type Outcome, type Slot, type WindowLimits } from '../../src/http/host-limiter.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { manualClock } from '../support/manual-clock.js';

const limits: WindowLimits = { initial: 4, min: 2, max: 16 };

/** Fills the host's window with requests (all admitted at once), then lets `ms` pass and answers them all. */
async function round(limiter: HostLimiter, clock: ReturnType<typeof manualClock>, host: string, ms: number, outcome: Outcome = 'answered'): Promise<void> {
  const slots = await Promise.all(Array.from({ length: limiter.windowOf(host) }, () => limiter.acquire(host, UNINTERRUPTED)));
  clock.advance(ms);
  for (const slot of slots) slot.release(outcome);
}

describe('http/host-limiter', () => {
  it('admits up to the window and queues the rest until a place frees', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    const slots = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('a.example', UNINTERRUPTED)));
    let fifth: Slot | undefined;
    const waiting = limiter.acquire('a.example', UNINTERRUPTED).then((slot) => (fifth = slot));
    // another host has its own window
    const other = await limiter.acquire('b.example', UNINTERRUPTED);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fifth, undefined);
    slots[0]!.release('failed');
    await waiting;
    assert.ok(fifth);
    other.release('failed');
  });

  it('grows while answers take the round trip and nothing more, doubling per round until a queue shows', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 8);
    await round(limiter, clock, 'far.example', 110);
    assert.equal(limiter.windowOf('far.example'), 16);
    // the ceiling holds
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 16);
  });

  it('stops doubling once answers wait in a queue, then grows one per round', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 8);
    // 3x the fastest answer: the registry queues them; no growth, and slow start is over
    await round(limiter, clock, 'far.example', 300);
    assert.equal(limiter.windowOf('far.example'), 8);
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 9);
  });

  it('does not grow when round trips are cheap (a loopback registry is CPU-bound)', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    for (let n = 0; n < 5; n++) await round(limiter, clock, 'near.example', 1);
    assert.equal(limiter.windowOf('near.example'), 4);
  });

  it('does not grow when the window is not the limit', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    for (let n = 0; n < 5; n++) {
      const slot = await limiter.acquire('far.example', UNINTERRUPTED);
      clock.advance(100);
      slot.release('answered');
    }
    assert.equal(limiter.windowOf('far.example'), 4);
  });

  it('halves on 429/503 or a dropped connection, once per round of requests, never below the floor', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    await round(limiter, clock, 'far.example', 100);
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 16);
    // sixteen 429s answered to requests sent together: one halving, not sixteen
    await round(limiter, clock, 'far.example', 100, 'throttled');
    assert.equal(limiter.windowOf('far.example'), 8);
    await round(limiter, clock, 'far.example', 100, 'dropped');
    assert.equal(limiter.windowOf('far.example'), 4);
    await round(limiter, clock, 'far.example', 100, 'throttled');
    await round(limiter, clock, 'far.example', 100, 'throttled');
    assert.equal(limiter.windowOf('far.example'), 2);
    // other failures say nothing about load
    await round(limiter, clock, 'far.example', 100, 'failed');
    assert.equal(limiter.windowOf('far.example'), 2);
    // after throttling it grows back one per round, not by doubling
    await round(limiter, clock, 'far.example', 100);
    assert.equal(limiter.windowOf('far.example'), 3);
  });

  it('a shrunk window admits no more until enough places free', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter(limits, clock);
    const slots = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('a.example', UNINTERRUPTED)));
    let admitted = 0;
    const waiters = [1, 2].map(() => limiter.acquire('a.example', UNINTERRUPTED).then((slot) => (admitted++, slot)));
    slots[0]!.release('throttled');
    await new Promise((resolve) => setImmediate(resolve));
    // window 2, three still in flight: nobody gets in
    assert.equal(admitted, 0);
    slots[1]!.release('answered');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, 0);
    slots[2]!.release('answered');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, 1);
    slots[3]!.release('answered');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(admitted, 2);
    for (const slot of await Promise.all(waiters)) slot.release('answered');
  });

  it('an abort while queued ends the wait with ABORTED and gives up the place in line', async () => {
    const clock = manualClock();
    const limiter = new HostLimiter({ initial: 2, min: 2, max: 2 }, clock);
    const slots = await Promise.all([1, 2].map(() => limiter.acquire('a.example', UNINTERRUPTED)));
    const controller = new AbortController();
    const aborted = limiter.acquire('a.example', controller.signal);
    const next = limiter.acquire('a.example', UNINTERRUPTED);
    controller.abort();
    await assert.rejects(aborted, (error) => isGcrsyncError(error, 'ABORTED'));
    slots[0]!.release('answered');
    (await next).release('answered');
    slots[1]!.release('answered');
  });
});
