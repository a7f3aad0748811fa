import type { Logger } from '../log.js';
import type { GoogleTagList, ListingClient, RepositoryRef } from './listing-client.js';

/**
 * Digests listed as if they were tags: Nexus lists `sha256:<hex>` among a repository's tags, Artifactory
 * the `sha256__<hex>` folders it keeps manifest-list children in. Neither is an image a person tagged, so a
 * mirror skips them. OCI 1.1's referrers fallback tag `sha256-<hex>` is kept: it travels with its image
 * (ref/digest-tags.ts).
 */
const DIGEST_SHAPED_TAG = /^sha(?:256|384|512)(?::|__)[0-9a-f]{64,128}$/;

/** True for tags that are no real tag: empty ones and digest-shaped ones (see DIGEST_SHAPED_TAG). */
export function isQuirkTag(tag: string): boolean {
  return tag === '' || DIGEST_SHAPED_TAG.test(tag);
}

function dropQuirks(tags: readonly string[], where: string, logger: Logger): string[] {
  const kept = tags.filter((tag) => !isQuirkTag(tag));
  const empty = tags.filter((tag) => tag === '').length;
  // an empty tag is a broken answer worth telling; digest-shaped ones are a known registry habit
  if (empty > 0) logger.warn('refused empty tags in the answer', { repository: where, refused: empty });
  if (kept.length + empty !== tags.length) logger.debug('skipped digest-shaped tags', { repository: where, skipped: tags.length - kept.length - empty });
  return kept;
}

/**
 * The listing client with quirk tags taken out of every tags/list answer, before any lister sees them:
 * they are skipped quietly instead of being refused as hostile names one by one.
 */
export function withoutQuirkTags(client: ListingClient, logger: Logger): ListingClient {
  return {
    listTags: async (repo: RepositoryRef, signal: AbortSignal) =>
      dropQuirks(await client.listTags(repo, signal), `${repo.registry}/${repo.repository}`, logger),
    listGoogle: async (registry: string, path: string, signal: AbortSignal): Promise<GoogleTagList | undefined> => {
      const answer = await client.listGoogle(registry, path, signal);
      if (answer === undefined) return undefined;
      const where = `${registry}/${path}`;
      const manifest: GoogleTagList['manifest'] = {};
      for (const [digest, info] of Object.entries(answer.manifest)) manifest[digest] = { ...info, tag: dropQuirks(info.tag, where, logger) };
      return { ...answer, tags: dropQuirks(answer.tags, where, logger), manifest };
    },
    catalog: (registry: string, signal: AbortSignal) => client.catalog(registry, signal),
    headManifest: (repo: RepositoryRef, reference: string, signal: AbortSignal) => client.headManifest(repo, reference, signal),
  };
}
