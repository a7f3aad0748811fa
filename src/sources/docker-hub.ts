import { GcrsyncError } from '../errors.js';
import { safeUrl } from '../http/url-policy.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import { subjectOf, type ListingRun, type ListOptions } from './listing-run.js';
import * as z from 'zod';
import { hostile, listOf, parseAnswer } from '../registry/answer.js';
import { isIndexMediaType } from '../registry/media-types.js';
import { cursorText, listEnumerated, namespaceRepositories, refuseEndlessPaging, repositoryEntries, type ApiHttp, type RefuseName } from './enumerated.js';
import { digestDefect, tagDefect } from './untrusted.js';

/** Docker Hub's web API, where namespaces are listed; images themselves come from registry-1.docker.io. */
export const DOCKER_HUB_WEB_API = 'https://hub.docker.com';
/** The Hub API's largest page (it silently caps bigger requests; the default is 10). */
const PAGE_SIZE = 100;
const MAX_URL_LENGTH = 4096;

const repositoryPage = z.object({ results: repositoryEntries, next: cursorText(MAX_URL_LENGTH) });
/** One page of Hub's tags API: each tag's digest (the index for multi-arch), media type and platform images. */
const tagPage = z.object({
  results: listOf(
    z.looseObject({
      name: z.unknown().optional(),
      digest: z.unknown().optional(),
      media_type: z.string().max(255).nullish(),
      images: listOf(z.unknown()),
    }),
  ),
  next: cursorText(MAX_URL_LENGTH),
});

/**
 * Every page of a Hub API list from `first` (`page_size=100`): `take` reads a page and answers its `next` URL, which
 * the answer hands us, so it passes the URL policy and must stay on the API's host.
 */
async function hubPages(http: ApiHttp, first: URL, take: (body: unknown, where: string) => string | undefined, signal: AbortSignal): Promise<void> {
  first.searchParams.set('page_size', String(PAGE_SIZE));
  const seen = new Set<string>();
  let url: URL | undefined = first;
  while (url !== undefined) {
    const where = safeUrl(url);
    if (seen.has(url.href)) throw hostile(where, 'next leads back to an earlier page');
    refuseEndlessPaging(seen.size, where);
    seen.add(url.href);
    const next = take(await http.getJson(url, { signal }), where);
    url = next === undefined ? undefined : nextPage(http, url, next);
  }
}

/** The repositories of a Docker Hub namespace (`library` for the official images), from `GET <api>/v2/namespaces/<ns>/repositories`. */
export async function dockerHubRepositories(http: ApiHttp, api: URL, namespace: string, refuse: RefuseName, signal: AbortSignal): Promise<string[]> {
  const repositories: string[] = [];
  const first = new URL(`/v2/namespaces/${namespace}/repositories`, api);
  await hubPages(
    http,
    first,
    (body, where) => {
      const { results, next } = parseAnswer(repositoryPage, body, where, 'repository list');
      repositories.push(...namespaceRepositories(results, namespace, refuse));
      return next;
    },
    signal,
  );
  return repositories;
}

/**
 * Queues the listing of one repository through Hub's tags API (`<api>/v2/namespaces/<ns>/repositories/<repo>/tags`):
 * 100 tags with digests per request, where the registry API needs a manifest HEAD per tag. A tag the API gives no
 * usable digest for costs a HEAD.
 */
function listHubRepository(run: ListingRun, http: ApiHttp, api: URL, namespace: string, repository: string): void {
  run.spawn(subjectOf(repository), async (signal) => {
    const first = new URL(`/v2/namespaces/${namespace}/repositories/${repository.slice(namespace.length + 1)}/tags`, api);
    await hubPages(
      http,
      first,
      (body, where) => {
        const { results, next } = parseAnswer(tagPage, body, where, 'tag list');
        for (const entry of results) {
          const defect = tagDefect(entry.name);
          if (defect !== undefined) {
            run.refuse(repository, 'tag', entry.name, defect);
            continue;
          }
          const tag = entry.name as string;
          if (digestDefect(entry.digest) !== undefined) {
            run.resolveByHead(repository, tag);
            continue;
          }
          const mediaType = entry.media_type ?? undefined;
          const children = isIndexMediaType(mediaType) ? entry.images.length : 0;
          run.addTag({ repository, tag, digest: entry.digest as string, ...(mediaType !== undefined && { mediaType }), ...(children > 0 && { children }) });
        }
        return next;
      },
      signal,
    );
  });
}

function nextPage(http: ApiHttp, from: URL, next: string): URL {
  const url = http.followUrl(from, next);
  if (url.host !== from.host) {
    throw new GcrsyncError('HOSTILE_RESPONSE', `refusing to follow ${safeUrl(url)}: the next page leaves ${from.host}`, { ref: safeUrl(url) });
  }
  return url;
}

/** Parses the Hub API base URL an option gave (tests point it at a loopback fixture). */
export function dockerHubApiUrl(base: string | undefined): URL {
  const text = base ?? DOCKER_HUB_WEB_API;
  try {
    return new URL(text);
  } catch {
    throw new GcrsyncError('USAGE', `Docker Hub API ${JSON.stringify(text)} is not a URL`);
  }
}

/**
 * Lists a Docker Hub namespace from the Hub web API at `api`: repositories, then each repository's tags with their
 * digests, media types and platform images (no manifest request; images come from registry-1.docker.io, see apiHost).
 */
export function listDockerHub(
  client: ListingClient,
  http: ApiHttp,
  source: { registry: string; namespace: string },
  api: URL,
  options: ListOptions,
): Promise<Listing> {
  return listEnumerated(
    client,
    source,
    (refuse, signal) => dockerHubRepositories(http, api, source.namespace, refuse, signal),
    options,
    (run, repository) => listHubRepository(run, http, api, source.namespace, repository),
  );
}
