import { strict as assert } from 'node:assert';
import { isGcrsyncError } from '../../src/errors.js';
import {
  backoffDelay,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelayForStatus,
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
    assert.ok(isRetryableStatus(502));
    assert.ok(!isRetryableStatus(501));
    assert.ok(isRetryableError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
    assert.ok(isRetryableError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) })));
    assert.ok(!isRetryableError(Object.assign(new Error('dns'), { code: 'ENOTFOUND' })));
    assert.ok(!isRetryableError(new Error('plain')));
  });

  it('sleep rejects with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(sleep(10_000, controller.signal), (error) => isGcrsyncError(error, 'ABORTED'));
    assert.ok(Date.now() - started < 2000);
  });
});
