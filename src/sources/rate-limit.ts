import { GcrsyncError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';

/**
 * A stop condition for a run that pulls from a rate-limited registry (Docker Hub's `ratelimit-remaining`):
 * the returned function gives a reason once the remaining pulls are at or below `reserve`, so the run
 * starts no more images and commits what it verified instead of failing image after image on 429s.
 * `reserve` covers the images already in flight, which still spend pulls (one per manifest GET).
 * Until the registry has sent the headers at least once there is nothing to judge, and the run goes on.
 */
export function rateLimitStop(client: Pick<RegistryClient, 'rateLimit'>, registry: string, reserve: number): () => string | undefined {
  if (!Number.isInteger(reserve) || reserve < 0) {
    throw new GcrsyncError('USAGE', `the pull reserve must be a whole number of at least 0, got ${reserve}`);
  }
  return () => {
    const budget = client.rateLimit(registry);
    if (budget?.remaining === undefined || budget.remaining > reserve) return undefined;
    const limit = budget.limit === undefined ? '' : ` of ${budget.limit}`;
    return `${registry} pull budget spent: ${budget.remaining}${limit} left (reserve ${reserve})`;
  };
}
