import { GcrsyncError } from '../errors.js';
import { safeUrl } from '../http/url-policy.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import type { ListOptions } from './listing-run.js';
import * as z from 'zod';
import { hostile, parseAnswer } from '../registry/answer.js';
import { cursorText, listEnumerated, namespaceRepositories, refuseEndlessPaging, repositoryEntries, type ApiHttp, type RefuseName } from './enumerated.js';

/** Docker Hub's web API, where namespaces are listed; images themselves come from registry-1.docker.io. */
export const DOCKER_HUB_WEB_API = 'https://hub.docker.com';
/** The Hub API's largest page (it silently caps bigger requests; the default is 10). */
const PAGE_SIZE = 100;
const MAX_URL_LENGTH = 4096;

const repositoryPage = z.object({ results: repositoryEntries, next: cursorText(MAX_URL_LENGTH) });

/**
 * The repositories of a Docker Hub namespace (`library` for the official images), from
 * `GET <api>/v2/namespaces/<ns>/repositories?page_size=100`, following the absolute `next` URL. `next`
 * is a URL the answer hands us, so it passes the URL policy and must stay on the API's host.
 */
export async function dockerHubRepositories(http: ApiHttp, api: URL, namespace: string, refuse: RefuseName, signal: AbortSignal): Promise<string[]> {
  const first = new URL(`/v2/namespaces/${namespace}/repositories`, api);
  first.searchParams.set('page_size', String(PAGE_SIZE));
  const repositories: string[] = [];
  const seen = new Set<string>();
  let url: URL | undefined = first;
  while (url !== undefined) {
    const where = safeUrl(url);
    if (seen.has(url.href)) throw hostile(where, 'next leads back to an earlier page');
    refuseEndlessPaging(seen.size, where);
    seen.add(url.href);
    const answer = await http.getJson(url, { signal });
    const { results, next } = parseAnswer(repositoryPage, answer, where, 'repository list');
    repositories.push(...namespaceRepositories(results, namespace, refuse));
    url = next === undefined ? undefined : nextPage(http, url, next);
  }
  return repositories;
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
 * Lists a Docker Hub namespace: repositories from the Hub web API at `api`, tags and digests from the
 * registry (`docker.io` requests go to registry-1.docker.io; see apiHost).
 */
export function listDockerHub(
  client: ListingClient,
  http: ApiHttp,
  source: { registry: string; namespace: string },
  api: URL,
  options: ListOptions,
): Promise<Listing> {
  return listEnumerated(client, source, (refuse, signal) => dockerHubRepositories(http, api, source.namespace, refuse, signal), options);
}
