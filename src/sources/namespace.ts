import { GcrsyncError, isGcrsyncError } from '../errors.js';
import type { Listing } from './source.js';
import type { GoogleTagList, ListingClient } from './listing-client.js';
import { listCatalog, listRepositories } from './catalog.js';
import { isGoogleHost } from '../registry/client.js';
import { walkGoogle } from './google.js';
import { sourceUnreachable, type ListOptions } from './listing-run.js';

export interface SourceNamespace {
  registry: string;
  /** repository path prefix; '' is the whole registry */
  namespace: string;
}

type Probe = { extension: GoogleTagList } | 'repository' | 'absent';

/**
 * Asks the namespace's own tags/list: an answer with `child`/`manifest` means the Google walk works
 * here (and is the walk's first answer); a plain answer means the namespace is itself a repository; an
 * HTTP error means neither.
 */
async function probe(client: ListingClient, source: SourceNamespace, signal: AbortSignal): Promise<Probe> {
  try {
    const answer = await client.listGoogle(source.registry, source.namespace, signal);
    if (answer !== undefined) return { extension: answer };
    return source.namespace === '' ? 'absent' : 'repository';
  } catch (error) {
    if (signal.aborted) throw new GcrsyncError('ABORTED', `listing ${source.registry} was cancelled`, { cause: signal.reason });
    // no HTTP answer at all: the registry is down or unreachable, and the catalog would fail the same way
    if (!isGcrsyncError(error) || error.info.status === undefined) throw sourceUnreachable(source, error);
    return 'absent';
  }
}

/**
 * Lists every repository and tag of a source namespace, sorted by (repository, tag). Throws
 * SOURCE_UNREACHABLE when the source cannot be listed at all; anything that fails later is a problem in
 * the listing and the rest goes on.
 */
export async function listNamespace(client: ListingClient, source: SourceNamespace, options: ListOptions): Promise<Listing> {
  if (isGoogleHost(source.registry)) return walkGoogle(client, source, options);
  const found = await probe(client, source, options.signal);
  if (typeof found === 'object') return walkGoogle(client, source, options, found.extension);
  try {
    return await listCatalog(client, source, options);
  } catch (error) {
    // registries without a catalog (ghcr.io, Docker Hub) still list a namespace that is one repository
    // (or whose catalog, filtered by permissions, does not show it)
    if (found === 'repository' && (isGcrsyncError(error, 'SOURCE_UNREACHABLE') || isGcrsyncError(error, 'NOT_FOUND'))) {
      options.logger?.info('no usable catalog; listing the namespace as one repository', { registry: source.registry, repository: source.namespace });
      return listRepositories(client, source.registry, [source.namespace], options);
    }
    throw error;
  }
}
