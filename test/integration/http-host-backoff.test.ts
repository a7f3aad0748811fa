import assert from 'node:assert/strict';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/log.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const RETRY_AFTER_SECONDS = 3;

/**
 * The per-host backoff against a real registry: two proxies in front of it are two hosts to the client. After
 * the first host answers 429 with Retry-After, requests to it that never saw a 429 themselves wait for the
 * pause too, while requests to the other host go straight through.
 */
describe('http: backoff shared per host (real registry behind fault proxies)', function () {
  this.timeout(60_000);
  // one registry behind two proxies: two hosts to the client, and only the first one throttles
  let rig: { registry: TestRegistry; throttled: FaultProxy; other: FaultProxy } | undefined;

  before(async () => {
    const registry = await startRegistry();
    const [throttled, other] = await Promise.all([
      startFaultProxy(registry.url, { seed: 'throttled', rate: 1, kinds: ['status-429'], retryAfterSeconds: RETRY_AFTER_SECONDS }),
      startFaultProxy(registry.url, { seed: 'other', rate: 0 }),
    ]);
    rig = { registry, throttled, other };
  });
  after(async () => {
    await rig?.throttled.stop();
    await rig?.other.stop();
    await rig?.registry.stop();
  });

  it('after a 429 from one host, concurrent requests to it wait out the pause; the other host is unaffected', async () => {
    const { throttled, other } = rig!;
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const http = new HttpClient({ logger, retry: { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 10_000 } });
    try {
      const get = async (proxy: FaultProxy, path: string) => {
        const response = await http.request({ method: 'GET', url: `${proxy.url}${path}` }, UNINTERRUPTED);
        await response.discard();
        return response.status;
      };
      const first = get(throttled, '/v2/');
      // the client has seen the 429 (and set the host's pause) once it announces the retry
      for (let waited = 0; !lines.some((line) => line.includes('retrying') && line.includes('status=429')); waited += 10) {
        assert.ok(waited < 20_000, `no retry announced:\n${lines.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throttled.setRate(0);
      const others = ['/v2/_catalog', '/v2/a/tags/list', '/v2/b/tags/list'].map((path) => get(throttled, path));
      assert.equal(await get(other, '/v2/'), 200);
      // the other host answered while the throttled one still held back every request but the first
      assert.deepEqual(
        throttled.log.map((record) => [record.url, record.fault]),
        [['/v2/', 'status-429']],
      );
      assert.deepEqual(await Promise.all([first, ...others]), [200, 200, 404, 404]);
      const throttledAt = throttled.log[0]!.at;
      const later = throttled.log.slice(1);
      assert.equal(later.length, 4, 'the retried request and the three that waited');
      for (const record of later) {
        assert.equal(record.fault, undefined);
        // none of them was sent before Retry-After passed (a little slack for the two processes' clocks)
        assert.ok(record.at - throttledAt >= RETRY_AFTER_SECONDS * 1000 - 50, `${record.url} was sent ${record.at - throttledAt} ms after the 429`);
      }
      assert.deepEqual(other.log.map((record) => [record.url, record.fault]), [['/v2/', undefined]]);
    } finally {
      await http.close();
    }
  });
});
