import type { Readable } from 'node:stream';
import type { Keychain } from '../auth/keychain.js';
import type { HttpClient } from '../http/client.js';
import { silentLogger, type Logger } from '../log.js';
import { BlobRequests } from './blob.js';
import { DEFAULT_LISTING_CAPS, RegistryLister, type ListingCaps } from './list.js';
import { ManifestRequests, type FetchedManifest, type ManifestDescriptor, type PushedManifest, type RateLimit } from './manifest.js';
import { RegistryRequests, type RepositoryRef } from './request.js';
import type { Descriptor, GoogleTagList } from './schemas.js';
import { BlobUploader, type UploadOptions } from './upload.js';

export { DEFAULT_LISTING_CAPS, isGoogleHost, type ListingCaps } from './list.js';
export { parseRateLimitValue } from './manifest.js';
export type { FetchedManifest, ManifestDescriptor, PushedManifest, RateLimit } from './manifest.js';
export type { RepositoryRef } from './request.js';
export type { GoogleManifestInfo, GoogleTagList } from './schemas.js';
export type { UploadOptions } from './upload.js';

export interface RegistryClientOptions {
  http: HttpClient;
  keychain: Keychain;
  logger?: Logger;
  /** `n` for tags/list and _catalog pages (default 1000; Google hosts get 10000) */
  pageSize?: number;
  /** chunk size used when a registry refuses a monolithic upload as too large (413/411) */
  fallbackChunkBytes?: number;
  /** totals one paginated listing may reach across its pages (defaults: DEFAULT_LISTING_CAPS) */
  listingCaps?: Partial<ListingCaps>;
}

const DEFAULT_FALLBACK_CHUNK = 16 * 1024 * 1024;

/**
 * The registry v2 API client (OCI distribution-spec): listing, manifests and blobs, with Basic/Bearer auth
 * answered per registry. Every method takes an optional AbortSignal and throws GcrsyncError naming the
 * repository or URL. Each part lives in its own module (request, list, manifest, blob, upload); this class
 * joins them over one authenticator.
 */
export class RegistryClient {
  private readonly requests: RegistryRequests;
  private readonly lister: RegistryLister;
  private readonly manifests: ManifestRequests;
  private readonly blobs: BlobRequests;
  private readonly uploader: BlobUploader;

  constructor(options: RegistryClientOptions) {
    this.requests = new RegistryRequests({ http: options.http, keychain: options.keychain, logger: options.logger ?? silentLogger });
    this.lister = new RegistryLister(this.requests, options.pageSize, { ...DEFAULT_LISTING_CAPS, ...options.listingCaps });
    this.manifests = new ManifestRequests(this.requests);
    this.blobs = new BlobRequests(this.requests);
    this.uploader = new BlobUploader(this.requests, options.fallbackChunkBytes ?? DEFAULT_FALLBACK_CHUNK);
  }

  ping(registry: string, signal: AbortSignal): Promise<void> {
    return this.requests.ping(registry, signal);
  }

  listTags(repo: RepositoryRef, signal: AbortSignal): Promise<string[]> {
    return this.lister.listTags(repo, signal);
  }

  listGoogle(registry: string, path: string, signal: AbortSignal): Promise<GoogleTagList | undefined> {
    return this.lister.listGoogle(registry, path, signal);
  }

  catalog(registry: string, signal: AbortSignal): Promise<string[]> {
    return this.lister.catalog(registry, signal);
  }

  headManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<ManifestDescriptor | undefined> {
    return this.manifests.headManifest(repo, reference, signal);
  }

  headManifestDigest(repo: RepositoryRef, reference: string, known: string, signal: AbortSignal): Promise<{ digest: string } | undefined> {
    return this.manifests.headManifestDigest(repo, reference, known, signal);
  }

  getManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    return this.manifests.getManifest(repo, reference, signal);
  }

  putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<PushedManifest> {
    return this.manifests.putManifest(repo, reference, bytes, mediaType, signal);
  }

  getReferrers(repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<Descriptor[] | undefined> {
    return this.manifests.getReferrers(repo, digest, signal);
  }

  rateLimit(registry: string): RateLimit | undefined {
    return this.manifests.rateLimit(registry);
  }

  headBlob(repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<number | undefined> {
    return this.blobs.headBlob(repo, digest, signal);
  }

  getBlob(repo: RepositoryRef, digest: string, signal: AbortSignal, size?: number): Promise<{ body: Readable; size?: number }> {
    return this.blobs.getBlob(repo, digest, signal, size);
  }

  getBlobFromUrls(repo: RepositoryRef, digest: string, urls: readonly string[], signal: AbortSignal, size?: number): Promise<{ body: Readable; size?: number }> {
    return this.blobs.getBlobFromUrls(repo, digest, urls, signal, size);
  }

  mountBlob(repo: RepositoryRef, digest: string, fromRepository: string, signal: AbortSignal): Promise<'mounted' | { uploadUrl: string }> {
    return this.uploader.mountBlob(repo, digest, fromRepository, signal);
  }

  uploadBlob(repo: RepositoryRef, digest: string, size: number, body: Readable | Buffer, signal: AbortSignal, opts: UploadOptions = {}): Promise<void> {
    return this.uploader.uploadBlob(repo, digest, size, body, signal, opts);
  }
}
