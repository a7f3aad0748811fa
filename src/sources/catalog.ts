import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import { ListingRun, namespaceMissing, sourceUnreachable, type ListOptions } from './listing-run.js';
import { repositoryDefect } from './untrusted.js';

/** True when `repository` is the namespace itself or lies under it ('' holds everything). */
export function inNamespace(repository: string, namespace: string): boolean {
  return namespace === '' || repository === namespace || repository.startsWith(`${namespace}/`);
}

/**
 * Lists a namespace of a self-hosted registry through `_catalog` (distribution, Harbor, Zot): the
 * repositories under the namespace prefix, their tags, and one manifest HEAD per tag for the digest.
 * `_catalog` may be filtered by permissions, so a repository missing from it proves nothing (spec §1.3).
 */
export async function listCatalog(client: ListingClient, source: { registry: string; namespace: string }, options: ListOptions): Promise<Listing> {
  const run = new ListingRun(client, source.registry, options);
  let repositories: string[];
  try {
    repositories = await run.query((signal) => client.catalog(source.registry, signal));
  } catch (error) {
    if (options.signal.aborted) return run.finish();
    throw sourceUnreachable(source, error);
  }
  const accepted = new Set<string>();
  for (const repository of repositories) {
    const defect = repositoryDefect(repository);
    if (defect !== undefined) run.refuse('<catalog>', 'repository', repository, defect);
    else if (inNamespace(repository, source.namespace)) accepted.add(repository);
  }
  if (accepted.size === 0) throw namespaceMissing(source, 'the registry\'s catalog lists no repository under it');
  for (const repository of accepted) run.listPlainRepository(repository);
  return run.finish();
}

/** Lists the named repositories with the standard tags/list, for registries without a catalog. */
export async function listRepositories(client: ListingClient, registry: string, repositories: readonly string[], options: ListOptions): Promise<Listing> {
  const run = new ListingRun(client, registry, options);
  for (const repository of new Set(repositories)) run.listPlainRepository(repository);
  return run.finish();
}
