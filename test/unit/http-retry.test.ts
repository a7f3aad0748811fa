import { strict as assert } from 'node:assert';
import { GcrsyncError, isGcrsyncError, UNINTERRUPTED, type ErrorCode, type ErrorInfo } from '../../src/errors.js';
import {
  backoffDelay,
  isTransient,
  isTransientStatus,
  parseRetryAfter,
  retryDelayForStatus,
  retrying,
  sleep,
  type RetryPolicy,
} from '../../src/http/retry.js';

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const now = Date.parse('2024-05-01T12:00:00Z');

describe('http/retry', () => {
  describe('parseRetryAfter', () => {
    const cases: Array<[string | undefined, number | undefined]> = [
      [undefined, undefined],
      ['0', 0],
      ['3', 3000],
      [' 120 ', 120_000],
      ['Wed, 01 May 2024 12:00:10 GMT', 10_000],
      ['Wed, 01 May 2024 11:59:00 GMT', 0],
      ['-5', undefined],
      ['1.5', undefined],
      ['soon', undefined],
      ['', undefined],
    ];
    for (const [value, expected] of cases) {
      it(`${JSON.stringify(value)} → ${expected}`, () => assert.equal(parseRetryAfter(value, now), expected));
    }
  });

  describe('retryDelayForStatus', () => {
    it('retries 429 after Retry-After seconds', () => assert.equal(retryDelayForStatus(429, '2', 0, policy, now), 2000));
    it('retries 503 after an HTTP-date Retry-After', () =>
      assert.equal(retryDelayForStatus(503, 'Wed, 01 May 2024 12:00:04 GMT', 1, policy, now), 4000));
    it('gives up when Retry-After is longer than the policy allows', () =>
      assert.equal(retryDelayForStatus(429, '3600', 0, policy, now), undefined));
    it('gives up after the last attempt', () => assert.equal(retryDelayForStatus(500, undefined, 3, policy, now), undefined));
    for (const status of [400, 401, 403, 404, 409, 416]) {
      it(`never retries ${status}`, () => assert.equal(retryDelayForStatus(status, '1', 0, policy, now), undefined));
    }
    for (const status of [408, 429, 500, 502, 503, 504]) {
      it(`retries ${status} with backoff when no Retry-After`, () => {
        const delay = retryDelayForStatus(status, undefined, 0, policy, now);
        assert.ok(delay !== undefined && delay >= 50 && delay <= 100, `delay ${delay}`);
      });
    }
  });

  it('backoff doubles per attempt, is capped, and jitters within the upper half', () => {
    assert.equal(backoffDelay(0, policy, () => 1), 100);
    assert.equal(backoffDelay(0, policy, () => 0), 50);
    assert.equal(backoffDelay(2, policy, () => 1), 400);
    assert.equal(backoffDelay(10, policy, () => 1), 1000);
  });

  it('classifies statuses and network errors', () => {
    assert.ok(isTransientStatus(502));
    assert.ok(!isTransientStatus(501));
    assert.ok(isTransient(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
    assert.ok(isTransient(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) })));
    assert.ok(!isTransient(Object.assign(new Error('dns'), { code: 'ENOTFOUND' })));
    assert.ok(!isTransient(new Error('plain')));
  });

  describe('isTransient: the one rule', () => {
    const network = (code: string) => Object.assign(new Error(code), { code });
    const cases: Array<[string, ErrorCode, ErrorInfo, boolean]> = [
      ['a reset before any answer', 'REGISTRY', { cause: network('ECONNRESET') }, true],
      ['a name that does not resolve', 'REGISTRY', { cause: network('ENOTFOUND') }, false],
      ['a 200 body cut off mid-way', 'REGISTRY', { status: 200, cause: network('UND_ERR_SOCKET') }, true],
      ['a 503 answer', 'REGISTRY', { status: 503 }, true],
      ['a 429 answer', 'RATE_LIMITED', { status: 429 }, true],
      ['a 501 answer', 'REGISTRY', { status: 501 }, false],
      ['a 400 MANIFEST_INVALID', 'REGISTRY', { status: 400, registryCode: 'MANIFEST_INVALID' }, false],
      ['a 400 DIGEST_INVALID (bytes lost on the way)', 'REGISTRY', { status: 400, registryCode: 'DIGEST_INVALID' }, true],
      ['an upload session the registry lost', 'REGISTRY', { status: 404, registryCode: 'BLOB_UPLOAD_UNKNOWN' }, true],
      ['an unreachable registry wrapping a refused connection', 'SOURCE_UNREACHABLE', { cause: new GcrsyncError('REGISTRY', 'x', { cause: network('ECONNREFUSED') }) }, true],
      ['a v2 ping answering 502', 'SOURCE_UNREACHABLE', { status: 502 }, true],
      ['a lost metadata push race', 'GIT_PUSH_REJECTED', {}, true],
      ['a daemon pull error', 'DOCKER', {}, true],
      ['a hook that exited 1', 'REGISTRY', {}, false],
      ['a hook that timed out', 'REGISTRY', { cause: network('ETIMEDOUT') }, true],
      ['a wrong digest', 'DIGEST_MISMATCH', { cause: network('ECONNRESET') }, false],
      ['refused credentials', 'AUTH', { status: 401 }, false],
      ['a missing manifest', 'NOT_FOUND', { status: 404 }, false],
      ['an abort', 'ABORTED', {}, false],
      ['a socket closed after a "certificate required" alert', 'REGISTRY', { cause: Object.assign(network('UND_ERR_SOCKET'), { cause: network('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') }) }, false],
      ['a socket closed after a "bad certificate" alert (Go)', 'REGISTRY', { cause: Object.assign(network('UND_ERR_SOCKET'), { cause: network('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') }) }, false],
    ];
    for (const [what, code, info, expected] of cases) {
      it(`${what} → ${expected}`, () => assert.equal(isTransient(new GcrsyncError(code, what, info)), expected));
    }
  });

  describe('retrying: the one loop', () => {
    const quick = { retries: 2, delayMs: () => 1, signal: UNINTERRUPTED };
    const transient = () => new GcrsyncError('REGISTRY', 'HTTP 503', { status: 503 });

    it('tries again after a transient failure and returns the first success', async () => {
      const seen: number[] = [];
      const result = await retrying(async (attempt) => {
        seen.push(attempt);
        if (attempt < 2) throw transient();
        return 'ok';
      }, quick);
      assert.equal(result, 'ok');
      assert.deepEqual(seen, [0, 1, 2]);
    });
    it('gives up after the last retry with the last error', async () => {
      let calls = 0;
      await assert.rejects(
        retrying(async () => {
          calls++;
          throw transient();
        }, quick),
        (error) => isGcrsyncError(error, 'REGISTRY'),
      );
      assert.equal(calls, 3);
    });
    it('never repeats a permanent failure', async () => {
      let calls = 0;
      await assert.rejects(
        retrying(async () => {
          calls++;
          throw new GcrsyncError('DIGEST_MISMATCH', 'bad bytes');
        }, quick),
        (error) => isGcrsyncError(error, 'DIGEST_MISMATCH'),
      );
      assert.equal(calls, 1);
    });
    it('retries a result that asks for it, and returns the last one as it is', async () => {
      const released: number[] = [];
      const result = await retrying(async (attempt) => ({ status: 503, attempt }), {
        ...quick,
        retryResult: (answer) => (answer.status === 503 ? 1 : undefined),
        release: async (answer) => {
          released.push(answer.attempt);
        },
      });
      assert.deepEqual(result, { status: 503, attempt: 2 });
      assert.deepEqual(released, [0, 1]);
    });
    it('an abort during a pause ends it with ABORTED', async () => {
      const controller = new AbortController();
      const running = retrying(
        async () => {
          setTimeout(() => controller.abort(), 5);
          throw transient();
        },
        { retries: 3, delayMs: () => 60_000, signal: controller.signal },
      );
      await assert.rejects(running, (error) => isGcrsyncError(error, 'ABORTED'));
    });
  });

  it('sleep rejects with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(sleep(10_000, controller.signal), (error) => isGcrsyncError(error, 'ABORTED'));
    assert.ok(Date.now() - started < 2000);
  });
});
