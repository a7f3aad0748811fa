import type { HttpClient } from '../http/client.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import { ListingRun, sourceUnreachable, subjectOf, type ListOptions } from './listing-run.js';

/** The slice of the HTTP client the web-API listers use (Quay, Docker Hub). */
export type ApiHttp = Pick<HttpClient, 'getJson' | 'followUrl' | 'originFor'>;

/** Records a name from an API answer that will not be used, with the reason. */
export type RefuseName = (value: unknown, why: string) => void;

/** Finds a namespace's repository paths through some API other than the registry's own. */
export type EnumerateRepositories = (refuse: RefuseName, signal?: AbortSignal) => Promise<string[]>;

/**
 * Lists a namespace whose repositories come from a web API: the enumeration must work (else
 * SOURCE_UNREACHABLE, and nothing is changed), then each repository's tags come from the registry's
 * tags/list and each digest from a manifest HEAD, under the run's query limit.
 */
export async function listEnumerated(
  client: ListingClient,
  source: { registry: string; namespace: string },
  enumerate: EnumerateRepositories,
  options: ListOptions,
): Promise<Listing> {
  const run = new ListingRun(client, source.registry, options);
  let repositories: string[];
  try {
    repositories = await run.query((signal) => enumerate((value, why) => run.refuse(subjectOf(source.namespace), 'repository', value, why), signal));
  } catch (error) {
    if (options.signal?.aborted) return run.finish();
    throw sourceUnreachable(source, error);
  }
  if (repositories.length === 0) {
    run.logger.warn('the registry lists no public repository in this namespace', { registry: source.registry, namespace: source.namespace });
  }
  for (const repository of new Set(repositories)) run.listPlainRepository(repository);
  return run.finish();
}
