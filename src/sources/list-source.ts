import { silentLogger } from '../log.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import type { ListOptions } from './listing-run.js';
import { listCatalog, listRepositories } from './catalog.js';
import { dockerHubApiUrl, listDockerHub } from './docker-hub.js';
import { DOCKER_HUB } from '../ref/reference.js';
import type { ApiHttp } from './enumerated.js';
import { walkGoogle } from './google.js';
import { listImages } from './images.js';
import { listNamespace } from './namespace.js';
import { listQuay } from './quay.js';
import { namespaceApiFor, repositoryPath, validateSourceSpec, type SourceSpec } from './source-spec.js';
import { withoutQuirkTags } from './tag-quirks.js';

export interface SourceOptions extends ListOptions {
  /** Docker Hub's web API base URL, where namespaces are listed (default https://hub.docker.com) */
  dockerHubApi?: string;
}

/**
 * Lists one source, whatever its kind, sorted by (repository, tag): a namespace through the API its host
 * speaks (Google's extension, Quay's or Docker Hub's web API, `_catalog`), named repositories through
 * tags/list, an image list group through tags/list and manifest HEADs. Empty and digest-shaped tags are
 * skipped everywhere. Throws CONFIG for a bad spec and SOURCE_UNREACHABLE when a namespace cannot be
 * enumerated at all; anything that fails later is a problem in the listing and the rest goes on.
 */
export async function listSource(client: ListingClient, http: ApiHttp, spec: SourceSpec, options: SourceOptions): Promise<Listing> {
  validateSourceSpec(spec);
  const registry = withoutQuirkTags(client, options.logger ?? silentLogger);
  const { dockerHubApi, ...listOptions } = options;
  switch (spec.kind) {
    case 'repositories':
      return listRepositories(
        registry,
        spec.registry,
        spec.repositories.map((relative) => repositoryPath(spec.namespace, relative)),
        listOptions,
      );
    case 'images':
      return listImages(registry, spec, listOptions);
    case 'namespace':
      switch (namespaceApiFor(spec)) {
        case 'google':
          return walkGoogle(registry, spec, listOptions);
        case 'quay':
          return listQuay(registry, http, spec, listOptions);
        case 'docker-hub':
          // a Hub-compatible registry other than docker.io serves the web API on its own host
          return listDockerHub(registry, http, spec, dockerHubApiUrl(dockerHubApi ?? (spec.registry === DOCKER_HUB ? undefined : http.originFor(spec.registry))), listOptions);
        case 'catalog':
          return listCatalog(registry, spec, listOptions);
        case 'probe':
          return listNamespace(registry, spec, listOptions);
      }
  }
}
