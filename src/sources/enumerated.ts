import { GcrsyncError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import * as z from 'zod';
import { listOf } from '../registry/answer.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import { ListingRun, sourceUnreachable, subjectOf, type ListOptions } from './listing-run.js';
import { childPath, quoteUntrusted } from './untrusted.js';

/** The slice of the HTTP client the web-API listers use (Quay, Docker Hub). */
export type ApiHttp = Pick<HttpClient, 'getJson' | 'followUrl' | 'originFor'>;

/** Records a name from an API answer that will not be used, with the reason. */
export type RefuseName = (value: unknown, why: string) => void;

/** Finds a namespace's repository paths through some API other than the registry's own. */
export type EnumerateRepositories = (refuse: RefuseName, signal: AbortSignal) => Promise<string[]>;

/** More pages than any real namespace has: an API that keeps handing out new ones is hostile. */
const MAX_PAGES = 10_000;

/** Throws once `pagesRead` pages of one listing were read from `where` and the API still offers another. */
export function refuseEndlessPaging(pagesRead: number, where: string): void {
  if (pagesRead >= MAX_PAGES) throw new GcrsyncError('HOSTILE_RESPONSE', `${where}: more than ${MAX_PAGES} pages`, { ref: where });
}

/** A page cursor or next-page URL: absent, null and '' all mean "no more pages" (the last page sends either). */
export const cursorText = (maxLength: number) =>
  z
    .string()
    .max(maxLength, 'is over-long')
    .nullish()
    .transform((v) => (v === '' || v === null ? undefined : v));

/** The entries of one page of a web API's repository list; their names are checked one by one (namespaceRepositories). */
export const repositoryEntries = listOf(z.looseObject({ name: z.unknown().optional(), namespace: z.unknown().optional() }));

/**
 * The repository paths of one page of a web API's repository list. An entry of another namespace, or with a
 * name that makes no valid child path, is refused; the API answer is untrusted, and the rest of the page
 * still counts.
 */
export function namespaceRepositories(entries: z.output<typeof repositoryEntries>, namespace: string, refuse: RefuseName): string[] {
  const repositories: string[] = [];
  for (const entry of entries) {
    if (entry.namespace !== undefined && entry.namespace !== namespace) {
      refuse(entry.name, `is listed under namespace ${quoteUntrusted(entry.namespace)}, not the one asked for`);
      continue;
    }
    const path = childPath(namespace, entry.name);
    if ('refused' in path) refuse(entry.name, path.refused);
    else repositories.push(path.path);
  }
  return repositories;
}

/**
 * Lists a namespace whose repositories come from a web API: the enumeration must work (else
 * SOURCE_UNREACHABLE, and nothing is changed), then each repository's tags come from `listRepository` (the
 * registry's tags/list and a manifest HEAD per digest by default), under the run's query limit.
 */
export async function listEnumerated(
  client: ListingClient,
  source: { registry: string; namespace: string },
  enumerate: EnumerateRepositories,
  options: ListOptions,
  /** lists one repository's tags; default: the registry's tags/list and a manifest HEAD per tag */
  listRepository: (run: ListingRun, repository: string) => void = (run, repository) => run.listPlainRepository(repository),
): Promise<Listing> {
  const run = new ListingRun(client, source.registry, options);
  let repositories: string[];
  try {
    repositories = await run.query((signal) => enumerate((value, why) => run.refuse(subjectOf(source.namespace), 'repository', value, why), signal));
  } catch (error) {
    if (options.signal.aborted) return run.finish();
    throw sourceUnreachable(source, error);
  }
  if (repositories.length === 0) {
    run.logger.warn('the registry lists no public repository in this namespace', { registry: source.registry, namespace: source.namespace });
  }
  for (const repository of new Set(repositories)) listRepository(run, repository);
  return run.finish();
}
