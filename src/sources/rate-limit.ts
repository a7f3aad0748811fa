import { GcrsyncError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';

/**
 * A stop condition for a run that pulls from a rate-limited registry (Docker Hub's `ratelimit-remaining`):
 * the returned function gives a reason once the remaining pulls, less `reserve`, cannot pay for the image about to
 * start, so the run starts no more images and commits what it verified instead of failing image after image on
 * 429s. An image costs one pull per manifest GET: 1, plus one per platform image of a multi-arch index (Docker's
 * usage documentation counts each). `reserve` covers the images already in flight, which still spend pulls (asked
 * each time when that number adapts during the run).
 * Until the registry has sent the headers at least once there is nothing to judge, and the run goes on.
 */
export function rateLimitStop(
  client: Pick<RegistryClient, 'rateLimit'>,
  registry: string,
  reserve: number | (() => number),
): (image?: { children?: number }) => string | undefined {
  if (typeof reserve === 'number' && (!Number.isInteger(reserve) || reserve < 0)) {
    throw new GcrsyncError('USAGE', `the pull reserve must be a whole number of at least 0, got ${reserve}`);
  }
  return (image = {}) => {
    const pulls = 1 + (image.children ?? 0);
    const budget = client.rateLimit(registry);
    const reserved = typeof reserve === 'number' ? reserve : reserve();
    if (budget?.remaining === undefined || budget.remaining - reserved >= pulls) return undefined;
    const limit = budget.limit === undefined ? '' : ` of ${budget.limit}`;
    const needs = pulls > 1 ? `; the next image needs ${pulls}` : '';
    return `${registry} pull budget spent: ${budget.remaining}${limit} left (reserve ${reserved}${needs})`;
  };
}
