/**
 * The slice of the registry client that the listers use. Kept structural so any RegistryClient
 * satisfies it and unit tests can hand in a small fake.
 */
export type RepositoryRef = { registry: string; repository: string };

export interface ManifestDescriptor {
  digest: string;
  mediaType: string;
  size: number;
}

/** One answer of Google's tags/list extension (gcr.io, Artifact Registry); `manifest` is keyed by digest. */
export interface GoogleTagList {
  name: string;
  child: string[];
  tags: string[];
  manifest: Record<string, { mediaType?: string; tag: string[]; timeUploadedMs?: string; timeCreatedMs?: string; imageSizeBytes?: string }>;
}

export interface ListingClient {
  listTags(repo: RepositoryRef, signal?: AbortSignal): Promise<string[]>;
  /** `path` '' is the registry root; undefined when the answer carried no extension fields */
  listGoogle(registry: string, path: string, signal?: AbortSignal): Promise<GoogleTagList | undefined>;
  catalog(registry: string, signal?: AbortSignal): Promise<string[]>;
  /** undefined when the manifest does not exist */
  headManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<ManifestDescriptor | undefined>;
}
