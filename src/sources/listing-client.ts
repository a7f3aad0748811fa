import type { RegistryClient } from '../registry/client.js';

export type { GoogleTagList, ManifestDescriptor, RepositoryRef } from '../registry/client.js';

/**
 * The slice of the registry client the listers use; a structural type, so unit tests can hand in a
 * small fake that answers from a table.
 */
export type ListingClient = Pick<RegistryClient, 'listTags' | 'listGoogle' | 'catalog' | 'headManifest'>;
