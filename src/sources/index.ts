export type { Listing, ListingProblem, SourceTag } from './source.js';
export type { GoogleTagList, ListingClient, ManifestDescriptor, RepositoryRef } from './listing-client.js';
export { DEFAULT_QUERY_LIMIT, sortListing, type ListOptions } from './listing-run.js';
export { inNamespace, listCatalog, listRepositories } from './catalog.js';
export { GOOGLE_ANSWER_CAP, walkGoogle } from './google.js';
export { isGoogleHost } from '../registry/client.js';
export { listNamespace, type SourceNamespace } from './namespace.js';
export {
  namespaceApiFor,
  repositoryPath,
  sourceLocation,
  validateSourceSpec,
  type ImageSelection,
  type ImagesSpec,
  type NamedTag,
  type NamespaceApi,
  type NamespaceSpec,
  type RepositoriesSpec,
  type SourceSpec,
} from './source-spec.js';
export { groupByNamespace, loadImageList, namespaceOf, parseImageList } from './image-list.js';
export { listSource, type SourceOptions } from './list-source.js';
export type { ApiHttp } from './enumerated.js';
export { DOCKER_HUB_WEB_API, dockerHubRepositories, listDockerHub } from './docker-hub.js';
export { listQuay, quayRepositories } from './quay.js';
export { listImages } from './images.js';
export { isQuirkTag, withoutQuirkTags } from './tag-quirks.js';
export { rateLimitStop } from './rate-limit.js';
