import { safeUrl } from '../http/url-policy.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import type { ListOptions } from './listing-run.js';
import * as z from 'zod';
import { hostile, parseAnswer } from '../registry/answer.js';
import { cursorText, listEnumerated, namespaceRepositories, refuseEndlessPaging, repositoryEntries, type ApiHttp, type RefuseName } from './enumerated.js';

/** Quay's `next_page` is an opaque (encrypted) cursor; a real one is a few hundred characters. */
const MAX_CURSOR_LENGTH = 4096;

const repositoryPage = z.object({ repositories: repositoryEntries, next_page: cursorText(MAX_CURSOR_LENGTH) });

/**
 * The public repositories of a Quay namespace (organization or user), from Quay's own API at the
 * registry host (`GET /api/v1/repository?namespace=<ns>&public=true`, paged by `next_page`). The
 * registry API has no catalog for this; quay.io answers `_catalog` with nothing useful.
 */
export async function quayRepositories(http: ApiHttp, registry: string, namespace: string, refuse: RefuseName, signal: AbortSignal): Promise<string[]> {
  const first = new URL('/api/v1/repository', http.originFor(registry));
  first.searchParams.set('namespace', namespace);
  first.searchParams.set('public', 'true');
  const repositories: string[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    const url = new URL(first);
    if (cursor !== undefined) url.searchParams.set('next_page', cursor);
    const where = safeUrl(url);
    refuseEndlessPaging(page, where);
    const body = parseAnswer(repositoryPage, await http.getJson(url, { signal }), where, 'repository list');
    repositories.push(...namespaceRepositories(body.repositories, namespace, refuse));
    cursor = body.next_page;
    if (cursor === undefined) return repositories;
    if (cursors.has(cursor)) throw hostile(where, 'next_page leads back to an earlier page');
    cursors.add(cursor);
  }
}

/** Lists a Quay namespace: repositories from Quay's API, tags and digests from the registry API. */
export function listQuay(client: ListingClient, http: ApiHttp, source: { registry: string; namespace: string }, options: ListOptions): Promise<Listing> {
  return listEnumerated(client, source, (refuse, signal) => quayRepositories(http, source.registry, source.namespace, refuse, signal), options);
}
