import { strict as assert } from 'node:assert';
import { AdaptiveConcurrency, followConcurrency } from '../../src/http/adaptive-concurrency.js';
import { HostLimiter, type Outcome } from '../../src/http/host-limiter.js';
import { UNINTERRUPTED } from '../../src/errors.js';
import { manualClock } from '../support/manual-clock.js';

/**
 * A host limiter (window big enough never to be the limit unless asked) with an image concurrency listening to it,
 * as the CLI wires them; `round` sends `requests` at once, lets `ms` pass and answers them all with `outcome`.
 */
function rig(window = { initial: 64, min: 2, max: 64 }) {
  const clock = manualClock();
  const limiter = new HostLimiter(window, clock);
  const images = new AdaptiveConcurrency({ initial: 10, max: 48 });
  const seen: number[] = [];
  limiter.observe((answer) => images.observe(answer));
  images.onChange((value) => seen.push(value));
  const round = async (host: string, requests: number, ms: number, outcome: Outcome = 'answered') => {
    const slots = await Promise.all(Array.from({ length: requests }, () => limiter.acquire(host, UNINTERRUPTED)));
    clock.advance(ms);
    for (const slot of slots) slot.release(outcome);
  };
  return { clock, limiter, images, seen, round };
}

describe('http/adaptive-concurrency', () => {
  it('grows while far hosts answer within their round trip, doubling per round of answers, up to its ceiling', async () => {
    const { images, seen, round } = rig();
    // the first answers only tell how far the host is
    await round('far.example', 8, 100);
    assert.equal(images.value, 10);
    await round('far.example', 10, 100);
    assert.equal(images.value, 20);
    await round('far.example', 20, 110);
    assert.equal(images.value, 40);
    await round('far.example', 40, 100);
    assert.equal(images.value, 48);
    // every change was told, one at a time
    assert.deepEqual(seen, Array.from({ length: 38 }, (_, i) => 11 + i));
  });

  it('stays where it started against a host answering within a cheap round trip (loopback, CPU-bound)', async () => {
    const { images, seen, round } = rig();
    for (let i = 0; i < 20; i++) await round('127.0.0.1:5000', 32, 2);
    assert.equal(images.value, 10);
    assert.deepEqual(seen, []);
  });

  it('does not grow on answers that queued: slower than twice the fastest, or waiting for a place in the window', async () => {
    const { images, round } = rig();
    await round('far.example', 8, 100);
    await round('far.example', 10, 250);
    assert.equal(images.value, 10);
    // a window of 4 that is full: the requests behind it waited, so more images would only wait too
    const narrow = rig({ initial: 4, min: 2, max: 4 });
    await narrow.round('far.example', 4, 100);
    await narrow.round('far.example', 4, 100);
    const before = narrow.images.value;
    const slots = Array.from({ length: 8 }, () => narrow.limiter.acquire('far.example', UNINTERRUPTED));
    const first = await Promise.all(slots.slice(0, 4));
    narrow.clock.advance(100);
    for (const slot of first) slot.release('answered');
    const waited = await Promise.all(slots.slice(4));
    narrow.clock.advance(100);
    for (const slot of waited) slot.release('answered');
    // the four that found the window open grew it, the four that waited did not
    assert.equal(narrow.images.value, before + 4);
  });

  it('halves on 429/503 or a dropped connection, once per round of requests, never below 1', async () => {
    const { images, round } = rig();
    await round('far.example', 8, 100);
    await round('far.example', 22, 100);
    assert.equal(images.value, 32);
    // a whole round of 429s halves it once, not once per answer
    await round('far.example', 16, 100, 'throttled');
    assert.equal(images.value, 16);
    await round('far.example', 4, 100, 'dropped');
    assert.equal(images.value, 8);
    for (let i = 0; i < 6; i++) await round('far.example', 2, 100, 'throttled');
    assert.equal(images.value, 1);
    // then it grows back by about one per round of answers, not doubling
    await round('far.example', 1, 100);
    assert.equal(images.value, 2);
    await round('far.example', 2, 100);
    assert.equal(images.value, 3);
  });

  it('a throttling host halves it even while another far host answers fast', async () => {
    const { images, round } = rig();
    await round('far.example', 8, 100);
    await round('far.example', 30, 100);
    assert.equal(images.value, 40);
    await round('busy.example', 1, 100, 'throttled');
    assert.equal(images.value, 20);
  });

  it('followConcurrency: a fixed number applies once, an adaptive one on each change until unfollowed', () => {
    const applied: number[] = [];
    followConcurrency(0, (value) => applied.push(value));
    assert.deepEqual(applied, [1]);
    const images = new AdaptiveConcurrency({ initial: 3, max: 8 });
    const unfollow = followConcurrency(images, (value) => applied.push(value));
    images.observe({ outcome: 'answered', sentAt: 0, answeredAt: 100, hidesRoundTrip: true });
    unfollow();
    images.observe({ outcome: 'answered', sentAt: 0, answeredAt: 100, hidesRoundTrip: true });
    assert.deepEqual(applied, [1, 3, 4]);
    assert.equal(images.value, 5);
  });
});
