import assert from 'node:assert/strict';
import { isGcrsyncError } from '../../src/errors.js';
import type { RateLimit } from '../../src/registry/client.js';
import { rateLimitStop } from '../../src/sources/index.js';

/** A stand-in for the one RegistryClient method the stop reads: the last headers seen per registry. */
function seen(budgets: Record<string, RateLimit>) {
  return { rateLimit: (registry: string) => budgets[registry] };
}

describe('rateLimitStop', () => {
  const cases: Array<{ name: string; budget?: RateLimit; reserve: number; expected: string | undefined }> = [
    { name: 'nothing seen yet', reserve: 5, expected: undefined },
    { name: 'plenty left', budget: { limit: 100, remaining: 40 }, reserve: 5, expected: undefined },
    { name: 'one above the reserve', budget: { limit: 100, remaining: 6 }, reserve: 5, expected: undefined },
    { name: 'at the reserve', budget: { limit: 100, remaining: 5 }, reserve: 5, expected: 'docker.io pull budget spent: 5 of 100 left (reserve 5)' },
    { name: 'below the reserve', budget: { limit: 100, remaining: 3 }, reserve: 5, expected: 'docker.io pull budget spent: 3 of 100 left (reserve 5)' },
    { name: 'none left, no reserve', budget: { limit: 100, remaining: 0 }, reserve: 0, expected: 'docker.io pull budget spent: 0 of 100 left (reserve 0)' },
    { name: 'one left, no reserve', budget: { limit: 100, remaining: 1 }, reserve: 0, expected: undefined },
    { name: 'only a remaining header', budget: { remaining: 1 }, reserve: 2, expected: 'docker.io pull budget spent: 1 left (reserve 2)' },
    { name: 'only a limit header', budget: { limit: 100 }, reserve: 2, expected: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const stop = rateLimitStop(seen(c.budget ? { 'docker.io': c.budget } : {}), 'docker.io', c.reserve);
      assert.equal(stop(), c.expected);
    });
  }

  it('counts one pull per platform image of a multi-arch image, besides its index', () => {
    const budgets: Record<string, RateLimit> = { 'docker.io': { limit: 100, remaining: 8 } };
    const stop = rateLimitStop(seen(budgets), 'docker.io', 5);
    assert.equal(stop({ children: 2 }), undefined, '8 left, 5 reserved: 3 pays for an index and 2 platforms');
    assert.equal(stop({ children: 3 }), 'docker.io pull budget spent: 8 of 100 left (reserve 5; the next image needs 4)');
    budgets['docker.io'] = { limit: 100, remaining: 7 };
    assert.equal(stop({ children: 2 }), 'docker.io pull budget spent: 7 of 100 left (reserve 5; the next image needs 3)');
    assert.equal(stop({}), undefined, 'a single-platform image still fits');
  });

  it('reads the budget afresh on every call, and only the named registry', () => {
    const budgets: Record<string, RateLimit> = { 'quay.io': { limit: 10, remaining: 0 } };
    const stop = rateLimitStop(seen(budgets), 'docker.io', 2);
    assert.equal(stop(), undefined);
    budgets['docker.io'] = { limit: 100, remaining: 3 };
    assert.equal(stop(), undefined);
    budgets['docker.io'] = { limit: 100, remaining: 2 };
    assert.match(stop() ?? '', /^docker\.io pull budget spent: 2 of 100 left/);
  });

  it('asks a changing reserve (adaptive images in flight) afresh on every call', () => {
    let inFlight = 10;
    const stop = rateLimitStop(seen({ 'docker.io': { limit: 100, remaining: 30 } }), 'docker.io', () => inFlight);
    assert.equal(stop(), undefined);
    inFlight = 30;
    assert.equal(stop(), 'docker.io pull budget spent: 30 of 100 left (reserve 30)');
  });

  for (const reserve of [-1, 1.5, Number.NaN]) {
    it(`refuses reserve ${reserve}`, () => assert.throws(() => rateLimitStop(seen({}), 'docker.io', reserve), (e: unknown) => isGcrsyncError(e, 'USAGE')));
  }
});
