import assert from 'node:assert/strict';
import { HttpClient } from '../../src/http/client.js';
import { DEFAULT_WINDOW } from '../../src/http/host-limiter.js';
import { UNINTERRUPTED } from '../../src/errors.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

// far enough that the round trip dwarfs the registry's work even on a busy machine
const ADDED_LATENCY_MS = 100;
// more than the window's ceiling, so the window is always the limit
const WORKERS = 2 * DEFAULT_WINDOW.max;

/** Polls until `done`, failing with `what` when the proxy has seen `limit` requests without it. */
async function until(proxy: FaultProxy, limit: number, what: string, done: () => boolean): Promise<void> {
  while (!done()) {
    assert.ok(proxy.stats().requests < limit, `${what} after ${proxy.stats().requests} requests (peak in flight ${proxy.peakInFlight()})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The adaptive per-host window against a real registry one round trip away (a proxy holding every request):
 * with more requests waiting than the window admits, the number the proxy holds at once rises past the starting
 * window; a burst of 429s brings it back under. Counts at the proxy, never wall-clock times.
 */
describe('http: adaptive window per host (real registry behind a latency-adding fault proxy)', function () {
  this.timeout(120_000);
  let rig: { registry: TestRegistry; proxy: FaultProxy } | undefined;

  before(async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url, { seed: 'window', rate: 0, kinds: ['status-429'], retryAfterSeconds: 0, latencyMs: ADDED_LATENCY_MS });
    rig = { registry, proxy };
  });
  after(async () => {
    await rig?.proxy.stop();
    await rig?.registry.stop();
  });

  it('holds more requests in flight while latency hides round trips, and fewer after a burst of 429s', async () => {
    const { proxy } = rig!;
    const http = new HttpClient({ retry: { retries: 2, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 1000 } });
    let running = true;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (running) {
        const response = await http.request({ method: 'GET', url: `${proxy.url}/v2/` }, UNINTERRUPTED);
        await response.discard();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    try {
      // before any answer came back, the proxy holds exactly the starting window
      await until(proxy, 1000, 'the first requests did not arrive', () => proxy.stats().requests >= DEFAULT_WINDOW.initial);
      assert.equal(proxy.peakInFlight(), DEFAULT_WINDOW.initial);
      await until(proxy, 5000, 'the window did not grow', () => proxy.peakInFlight() >= Math.min(2 * DEFAULT_WINDOW.initial, DEFAULT_WINDOW.max));
      const grown = proxy.peakInFlight();

      proxy.setRate(1);
      // enough 429s for the window to halve down to its floor from the ceiling, a round of requests at a time
      await until(proxy, 20_000, 'the 429s did not come', () => proxy.stats().byKind['status-429'] >= 2 * DEFAULT_WINDOW.max);
      proxy.resetPeak();
      const before = proxy.stats().requests;
      await until(proxy, 40_000, 'the throttled host got no more requests', () => proxy.stats().requests >= before + 20);
      const throttled = proxy.peakInFlight();

      assert.ok(grown > DEFAULT_WINDOW.initial, `with ${ADDED_LATENCY_MS} ms added the proxy held at most ${grown} at once`);
      assert.ok(throttled < DEFAULT_WINDOW.initial / 2, `after the 429s the proxy still held ${throttled} at once (before: ${grown})`);
      // the requests before the burst really reached the registry
      assert.ok((statuses.get(200) ?? 0) >= DEFAULT_WINDOW.initial, `answers: ${JSON.stringify([...statuses])}`);
    } finally {
      running = false;
      proxy.setRate(0);
      proxy.setLatency(0);
      await Promise.all(workers);
      await http.close();
    }
  });
});
