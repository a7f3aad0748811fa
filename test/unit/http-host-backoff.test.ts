import { strict as assert } from 'node:assert';
import { HostBackoffs, type Clock } from '../../src/http/host-backoff.js';
import type { RetryPolicy } from '../../src/http/retry.js';
import { UNINTERRUPTED } from '../../src/errors.js';
import { manualClock } from '../support/manual-clock.js';

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe('http/host-backoff', () => {
  // jitter off: every pause is the full backoff step
  const backoffs = (clock: Clock) => new HostBackoffs(policy, clock, () => 1);

  it('a 429 pauses every request to that host, and no other host', async () => {
    const clock = manualClock();
    const hosts = backoffs(clock);
    hosts.observe('a.example', clock.now(), 429);
    assert.equal(hosts.pauseLeft('a.example'), 100);
    assert.equal(hosts.pauseLeft('b.example'), 0);
    await hosts.wait('b.example', UNINTERRUPTED);
    assert.deepEqual(clock.slept, []);
    await hosts.wait('a.example', UNINTERRUPTED);
    assert.deepEqual(clock.slept, [100]);
    assert.equal(hosts.pauseLeft('a.example'), 0);
  });

  it('honours a Retry-After longer than the backoff step', () => {
    const clock = manualClock();
    const hosts = backoffs(clock);
    hosts.observe('a.example', clock.now(), 503, 2000);
    assert.equal(hosts.pauseLeft('a.example'), 2000);
    // a shorter step later never cuts the pause the registry asked for
    clock.advance(500);
    hosts.observe('a.example', clock.now(), 429);
    assert.equal(hosts.pauseLeft('a.example'), 1500);
  });

  it('a storm of answers to requests already on their way raises the backoff once', () => {
    const clock = manualClock();
    const hosts = backoffs(clock);
    const sentAt = clock.now();
    clock.advance(10);
    for (let i = 0; i < 8; i++) hosts.observe('a.example', sentAt, 429);
    assert.equal(hosts.pauseLeft('a.example'), 100);
    // each request sent after the pause began and throttled again doubles it, up to the policy's ceiling
    const pauses: number[] = [];
    for (const wait of [100, 200, 400, 800]) {
      clock.advance(wait);
      hosts.observe('a.example', clock.now(), 429);
      pauses.push(hosts.pauseLeft('a.example'));
    }
    assert.deepEqual(pauses, [200, 400, 800, 1000]);
  });

  it('decays one step per good answer sent after the last rise', () => {
    const clock = manualClock();
    const hosts = backoffs(clock);
    for (const step of [100, 200, 400]) {
      hosts.observe('a.example', clock.now(), 429);
      clock.advance(step);
    }
    const beforeRise = clock.now() - 1000;
    // answers to requests sent before the storm say nothing about it
    hosts.observe('a.example', beforeRise, 200);
    hosts.observe('a.example', clock.now(), 200);
    hosts.observe('a.example', clock.now(), 404);
    // level 3 − 2 = 1: the next 429 pauses for the second step (200), not the fourth (800)
    hosts.observe('a.example', clock.now(), 429);
    assert.equal(hosts.pauseLeft('a.example'), 200);
    clock.advance(200);
    for (let i = 0; i < 5; i++) hosts.observe('a.example', clock.now(), 200);
    hosts.observe('a.example', clock.now(), 429);
    assert.equal(hosts.pauseLeft('a.example'), 100);
  });

  it('a waiter also waits out a pause set while it slept', async () => {
    const clock = manualClock();
    const hosts = backoffs(clock);
    hosts.observe('a.example', clock.now(), 429, 1000);
    // the first sleeper's wake-up finds a new pause (another request was throttled meanwhile) and sleeps again
    const sleep = clock.sleep;
    let extended = false;
    clock.sleep = async (ms) => {
      await sleep(ms, UNINTERRUPTED);
      if (!extended) {
        extended = true;
        hosts.observe('a.example', clock.now(), 429, 500);
      }
    };
    await hosts.wait('a.example', UNINTERRUPTED);
    assert.deepEqual(clock.slept, [1000, 500]);
  });

  it('an abort ends the wait', async () => {
    const hosts = new HostBackoffs(policy);
    hosts.observe('a.example', Date.now(), 429, 5000);
    const controller = new AbortController();
    const waiting = hosts.wait('a.example', controller.signal);
    controller.abort();
    await assert.rejects(waiting, (error: Error & { code?: string }) => error.code === 'ABORTED');
  });
});
