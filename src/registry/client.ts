import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { Authenticator, type AuthTarget } from '../auth/authenticator.js';
import type { Keychain } from '../auth/keychain.js';
import { CATALOG_SCOPE, repositoryScope } from '../auth/scope.js';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import type { HttpClient, HttpRequest } from '../http/client.js';
import { nextLinkTarget } from '../http/link.js';
import type { HttpResponse } from '../http/response.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import { silentLogger, type Logger } from '../log.js';
import { apiHost, formatRepository, isValidDigest, isValidRepositoryPath, isValidTag } from '../ref/reference.js';
import { DigestVerifier, digestMismatch, digestOf, hashAlgorithmOf } from './digest.js';
import { MANIFEST_ACCEPT, baseMediaType, isManifestMediaType, isSchema1 } from './media-types.js';
import { manifestMediaType, parseCatalog, parseGoogleTagList, parseTagList, type GoogleTagList } from './schemas.js';

export type { GoogleManifestInfo, GoogleTagList } from './schemas.js';

/** A repository at a registry; `registry` as in Reference (`docker.io`, API calls go to apiHost()). */
export type RepositoryRef = { registry: string; repository: string };

export interface ManifestDescriptor {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestDescriptor {
  bytes: Buffer;
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
}

export interface RegistryClientOptions {
  http: HttpClient;
  keychain: Keychain;
  logger?: Logger;
  /** `n` for tags/list and _catalog pages (default 1000; Google hosts get 10000) */
  pageSize?: number;
  /** chunk size used when a registry refuses a monolithic upload as too large (413/411) */
  fallbackChunkBytes?: number;
}

export interface UploadOptions {
  /** upload in PATCH chunks of this many bytes (raised to the registry's OCI-Chunk-Min-Length) */
  chunkBytes?: number;
  /** continue an upload session opened by `mountBlob` instead of starting one */
  uploadUrl?: string;
}

// distribution refuses manifests over 4 MiB (maxManifestBodySize); the spec asks clients to handle at least 4 MB
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const LISTING_LIMIT = 16 * 1024 * 1024;
const MAX_PAGES = 10_000;
const GOOGLE_PAGE_SIZE = 10_000;
const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_FALLBACK_CHUNK = 16 * 1024 * 1024;

/** ggcr google/options.go isGoogle: these hosts serve the listing extension and accept n=10000. */
export function isGoogleHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'gcr.io' || host.endsWith('.gcr.io') || host.endsWith('.pkg.dev') || host.endsWith('.google.com');
}

/** `100;w=21600` → 100 (Docker Hub ratelimit-* headers). */
export function parseRateLimitValue(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*(\d+)/.exec(value);
  return match ? Number(match[1]) : undefined;
}

function badReference(what: string, value: string): GcrsyncError {
  return new GcrsyncError('BAD_REFERENCE', `invalid ${what} ${JSON.stringify(value)}`, { ref: value });
}

function checkRepository(repository: string): void {
  if (!isValidRepositoryPath(repository)) throw badReference('repository', repository);
}

function checkDigest(digest: string): void {
  if (!isValidDigest(digest)) throw badReference('digest', digest);
}

function checkManifestReference(reference: string): void {
  if (!isValidTag(reference) && !isValidDigest(reference)) throw badReference('tag or digest', reference);
}

const isDigest = (reference: string) => reference.includes(':');

function withAuthorization(headers: Record<string, string> | undefined, authorization: string | undefined): Record<string, string> {
  const out = { ...headers };
  if (authorization !== undefined) out.authorization = authorization;
  return out;
}

/** Splits a Buffer or stream into Buffers of exactly `size` bytes (the last one shorter). */
async function* chunksOf(body: Readable | Buffer, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(body)) {
    for (let offset = 0; offset < body.length; offset += size) yield body.subarray(offset, offset + size);
    return;
  }
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of body) {
    let buffer = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
    while (held + buffer.length >= size) {
      const take = size - held;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      held = 0;
      buffer = buffer.subarray(take);
    }
    if (buffer.length > 0) {
      parts.push(buffer);
      held += buffer.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}

/**
 * The registry v2 API client (OCI distribution-spec): listing, manifests and blobs, with Basic/Bearer auth
 * answered per registry. Every method takes an optional AbortSignal and throws GcrsyncError naming the
 * repository or URL.
 */
export class RegistryClient {
  private readonly http: HttpClient;
  private readonly auth: Authenticator;
  private readonly logger: Logger;
  private readonly pageSize: number | undefined;
  private readonly fallbackChunkBytes: number;
  private readonly rateLimits = new Map<string, RateLimit>();

  constructor(options: RegistryClientOptions) {
    this.http = options.http;
    this.logger = options.logger ?? silentLogger;
    this.auth = new Authenticator({ http: options.http, keychain: options.keychain, logger: this.logger });
    this.pageSize = options.pageSize;
    this.fallbackChunkBytes = options.fallbackChunkBytes ?? DEFAULT_FALLBACK_CHUNK;
  }

  /** Checks that the registry speaks the v2 API and accepts our credentials (or anonymous access). */
  async ping(registry: string, signal?: AbortSignal): Promise<void> {
    const target = this.target(registry);
    const url = new URL('/v2/', target.origin);
    let response: HttpResponse;
    try {
      response = await this.send(target, [], { method: 'GET', url }, signal);
    } catch (error) {
      if (isGcrsyncError(error, 'REGISTRY')) {
        throw new GcrsyncError('SOURCE_UNREACHABLE', `cannot reach registry ${registry} (${error.message})`, {
          ref: registry,
          temporary: true,
          cause: error,
        });
      }
      throw error;
    }
    if (response.status === 200) {
      await response.discard();
      return;
    }
    const failure = await errorForResponse(response, `registry ${registry} (${safeUrl(url)})`);
    if (failure.code === 'AUTH') throw failure;
    throw new GcrsyncError('SOURCE_UNREACHABLE', `registry ${registry} does not answer the v2 API: ${failure.message}`, {
      ref: registry,
      status: response.status,
      ...(failure.info.temporary && { temporary: true }),
    });
  }

  /** Every tag of a repository, following Link pagination (relative or absolute; a repeated URL is refused). */
  async listTags(repo: RepositoryRef, signal?: AbortSignal): Promise<string[]> {
    checkRepository(repo.repository);
    const target = this.target(repo.registry);
    const url = new URL(`/v2/${repo.repository}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(repo.registry)));
    const tags: string[] = [];
    await this.paginate(target, [repositoryScope(repo.repository, ['pull'])], url, `tags of ${formatRepository(repo)}`, signal, (body, where) => {
      tags.push(...parseTagList(body, where).tags);
    });
    return tags;
  }

  /**
   * gcr.io/Artifact Registry listing of `path` ('' = the registry root) with `child` and `manifest`; undefined
   * when the registry answered a plain tag list without the extension.
   */
  async listGoogle(registry: string, path: string, signal?: AbortSignal): Promise<GoogleTagList | undefined> {
    if (path !== '') checkRepository(path);
    const target = this.target(registry);
    const url = new URL(path === '' ? '/v2/tags/list' : `/v2/${path}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSize ?? GOOGLE_PAGE_SIZE));
    const scopes = path === '' ? [] : [repositoryScope(path, ['pull'])];
    let merged: GoogleTagList | undefined;
    let plain = false;
    await this.paginate(target, scopes, url, `listing of ${registry}/${path}`, signal, (body, where) => {
      const page = parseGoogleTagList(body, where);
      if (!page) {
        plain = true;
        return;
      }
      if (!merged) {
        merged = page;
        return;
      }
      merged.child.push(...page.child.filter((c) => !merged!.child.includes(c)));
      merged.tags.push(...page.tags);
      Object.assign(merged.manifest, page.manifest);
    });
    if (plain || !merged) return undefined;
    if (Object.keys(merged.manifest).length >= GOOGLE_PAGE_SIZE) {
      this.logger.warn('listing hit the registry page cap; some images may be missing', { registry, path, count: GOOGLE_PAGE_SIZE });
    }
    return merged;
  }

  /** Repositories from `_catalog` (self-hosted registries; Docker Hub, ghcr.io and registry.k8s.io don't serve it). */
  async catalog(registry: string, signal?: AbortSignal): Promise<string[]> {
    const target = this.target(registry);
    const url = new URL('/v2/_catalog', target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(registry)));
    const repositories: string[] = [];
    await this.paginate(target, [CATALOG_SCOPE], url, `catalog of ${registry}`, signal, (body, where) => {
      repositories.push(...parseCatalog(body, where));
    });
    return repositories;
  }

  /** Digest, media type and size of a manifest (HEAD, falling back to GET when headers are missing); undefined = 404. */
  async headManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<ManifestDescriptor | undefined> {
    checkRepository(repo.repository);
    checkManifestReference(reference);
    const what = this.manifestName(repo, reference);
    const target = this.target(repo.registry);
    const url = this.manifestUrl(target, repo, reference);
    const response = await this.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'HEAD', url, headers: { accept: MANIFEST_ACCEPT } }, signal);
    // a 429 carries the budget too, and is exactly when the run must learn it is spent
    this.noteRateLimit(repo.registry, response);
    if (response.status === 404) {
      await response.discard();
      return undefined;
    }
    if (response.status !== 200) throw await errorForResponse(response, `HEAD manifest ${what}`);
    await response.discard();
    const digest = response.headers.get('docker-content-digest');
    const size = response.contentLength();
    const mediaType = baseMediaType(response.headers.get('content-type'));
    if (digest === undefined || !isValidDigest(digest) || size === undefined || !isManifestMediaType(mediaType)) {
      // older registries omit the digest on HEAD (ggcr fetcher.go headManifest)
      const fetched = await this.getManifest(repo, reference, signal);
      return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.size };
    }
    if (isDigest(reference) && digest !== reference) throw digestMismatch(`HEAD manifest ${what}`, reference, digest);
    return { digest, mediaType: mediaType!, size };
  }

  /** A manifest's exact bytes; when `reference` is a digest the bytes are checked against it (DIGEST_MISMATCH). */
  async getManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    checkRepository(repo.repository);
    checkManifestReference(reference);
    const what = this.manifestName(repo, reference);
    const target = this.target(repo.registry);
    const url = this.manifestUrl(target, repo, reference);
    const { response, bytes } = await this.http.readRetrying(async () => {
      const answer = await this.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'GET', url, headers: { accept: MANIFEST_ACCEPT } }, signal);
      this.noteRateLimit(repo.registry, answer);
      if (answer.status !== 200) throw await errorForResponse(answer, `GET manifest ${what}`);
      return { response: answer, bytes: await answer.buffer(MANIFEST_LIMIT) };
    }, signal);
    const mediaType = manifestMediaType(bytes, baseMediaType(response.headers.get('content-type')), `manifest ${what}`);
    const headerDigest = response.headers.get('docker-content-digest');
    if (isSchema1(mediaType)) {
      // a signed schema1 digest covers the payload without signatures, not the body: only the header can say
      const digest = isDigest(reference) ? reference : headerDigest;
      if (digest === undefined || !isValidDigest(digest)) {
        throw new GcrsyncError('HOSTILE_RESPONSE', `schema1 manifest ${what} came without a Docker-Content-Digest`, { ref: what });
      }
      if (headerDigest !== undefined && headerDigest !== digest) throw digestMismatch(`GET manifest ${what}`, digest, headerDigest);
      return { digest, mediaType, size: bytes.length, bytes };
    }
    const digest = digestOf(bytes, isDigest(reference) ? hashAlgorithmOf(reference) : 'sha256');
    if (isDigest(reference) && digest !== reference) throw digestMismatch(`GET manifest ${what}`, reference, digest);
    return { digest, mediaType, size: bytes.length, bytes };
  }

  /** PUTs the exact bytes under a tag or digest; returns their digest after checking the registry agrees. */
  async putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    checkRepository(repo.repository);
    checkManifestReference(reference);
    const what = this.manifestName(repo, reference);
    const digest = digestOf(bytes, isDigest(reference) ? hashAlgorithmOf(reference) : 'sha256');
    if (isDigest(reference) && digest !== reference) throw digestMismatch(`PUT manifest ${what}`, reference, digest);
    const target = this.target(repo.registry);
    const url = this.manifestUrl(target, repo, reference);
    const response = await this.send(
      target,
      [repositoryScope(repo.repository, ['pull', 'push'])],
      { method: 'PUT', url, headers: { 'content-type': mediaType }, body: bytes },
      signal,
    );
    if (response.status !== 201 && response.status !== 200 && response.status !== 202) {
      throw await errorForResponse(response, `PUT manifest ${what}`);
    }
    await response.discard();
    const answered = response.headers.get('docker-content-digest');
    if (answered !== undefined && answered !== digest) throw digestMismatch(`PUT manifest ${what} (registry's digest)`, digest, answered);
    return digest;
  }

  /** Size of a blob, or undefined when the repository does not have it. */
  async headBlob(repo: RepositoryRef, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const target = this.target(repo.registry);
    const url = this.blobUrl(target, repo, digest);
    const response = await this.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'HEAD', url }, signal);
    await response.discard();
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await errorForResponse(response, `HEAD blob ${formatRepository(repo)}@${digest}`);
    const size = response.contentLength();
    if (size === undefined) {
      throw new GcrsyncError('HOSTILE_RESPONSE', `HEAD blob ${formatRepository(repo)}@${digest} answered without Content-Length`, { ref: formatRepository(repo) });
    }
    return size;
  }

  /**
   * A blob's bytes as a stream (redirects to storage followed without our credentials). The stream is checked
   * against the digest and Content-Length as it flows, and errors with DIGEST_MISMATCH instead of ending.
   */
  async getBlob(repo: RepositoryRef, digest: string, signal?: AbortSignal): Promise<{ body: Readable; size?: number }> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const what = `blob ${formatRepository(repo)}@${digest}`;
    const target = this.target(repo.registry);
    const url = this.blobUrl(target, repo, digest);
    // identity: a CDN's gzip on top of a layer would change the bytes the digest covers (§0)
    const response = await this.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'GET', url, headers: { 'accept-encoding': 'identity' } }, signal);
    if (response.status !== 200) throw await errorForResponse(response, `GET ${what}`);
    const size = response.contentLength();
    const verifier = new DigestVerifier(digest, size, `GET ${what}`);
    const body = pipeline(response.body, verifier, () => {
      // errors reach the reader through the verifier, which pipeline destroys with them
    });
    return { body, ...(size !== undefined && { size }) };
  }

  /**
   * Cross-repository mount on one registry (§1.8): 'mounted' on 201; on 202 the registry opened an upload session
   * instead. Any refusal falls back to opening a plain upload session (Harbor answers 401 for unreadable sources).
   */
  async mountBlob(repo: RepositoryRef, digest: string, fromRepository: string, signal?: AbortSignal): Promise<'mounted' | { uploadUrl: string }> {
    checkRepository(repo.repository);
    checkRepository(fromRepository);
    checkDigest(digest);
    const target = this.target(repo.registry);
    const url = new URL(`/v2/${repo.repository}/blobs/uploads/`, target.origin);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepository);
    const scopes = [repositoryScope(repo.repository, ['pull', 'push']), repositoryScope(fromRepository, ['pull'])];
    const response = await this.send(target, scopes, { method: 'POST', url, headers: { 'content-length': '0' }, body: Buffer.alloc(0) }, signal);
    await response.discard();
    if (response.status === 201) return 'mounted';
    const location = response.headers.get('location');
    if (response.status === 202 && location !== undefined) return { uploadUrl: this.http.followUrl(response.url, location).href };
    this.logger.debug('mount refused; starting a plain upload', { repository: formatRepository(repo), from: fromRepository, status: response.status });
    const session = await this.startUpload(target, repo, signal);
    return { uploadUrl: session.url.href };
  }

  /**
   * Uploads a blob: one PUT with Content-Length, or PATCH chunks when `chunkBytes` is smaller than the blob (and
   * as fallback when a registry refuses a Buffer as too large). Content is checked against digest and size while
   * it streams; on a mismatch the session is deleted and DIGEST_MISMATCH thrown, so nothing lands at the target.
   */
  async uploadBlob(
    repo: RepositoryRef,
    digest: string,
    size: number,
    body: Readable | Buffer,
    signal?: AbortSignal,
    opts: UploadOptions = {},
  ): Promise<void> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const target = this.target(repo.registry);
    const what = `upload of ${formatRepository(repo)}@${digest}`;
    const session: UploadSession =
      opts.uploadUrl !== undefined ? { url: this.http.followUrl(target.origin, opts.uploadUrl) } : await this.startUpload(target, repo, signal);
    const upload: BlobUpload = { target, repo, session, digest, size, body, what };
    try {
      if (opts.chunkBytes !== undefined && opts.chunkBytes > 0 && size > opts.chunkBytes) {
        await this.uploadChunks(upload, opts.chunkBytes, signal);
        return;
      }
      const refused = await this.uploadWhole(upload, signal);
      if (refused === undefined) return;
      if (!Buffer.isBuffer(body)) {
        throw new GcrsyncError('REGISTRY', `${what}: the registry refused a single PUT (HTTP ${refused}); retry with a chunk size`, {
          ref: what,
          status: refused,
        });
      }
      this.logger.debug('monolithic upload refused; uploading in chunks', { repository: formatRepository(repo), status: refused });
      await this.cancelUpload(target, repo, session);
      Object.assign(session, await this.startUpload(target, repo, signal));
      await this.uploadChunks(upload, this.fallbackChunkBytes, signal);
    } catch (error) {
      await this.cancelUpload(target, repo, session);
      throw error;
    }
  }

  /** The last Docker Hub `ratelimit-*` values seen on a manifest answer from `registry`. */
  rateLimit(registry: string): RateLimit | undefined {
    return this.rateLimits.get(registry);
  }

  // ---------- uploads ----------

  private async startUpload(target: AuthTarget, repo: RepositoryRef, signal?: AbortSignal): Promise<UploadSession> {
    const url = new URL(`/v2/${repo.repository}/blobs/uploads/`, target.origin);
    const response = await this.send(
      target,
      [repositoryScope(repo.repository, ['pull', 'push'])],
      { method: 'POST', url, headers: { 'content-length': '0' }, body: Buffer.alloc(0) },
      signal,
    );
    const location = response.headers.get('location');
    if (response.status !== 202 || location === undefined) throw await errorForResponse(response, `start upload to ${formatRepository(repo)}`);
    await response.discard();
    const minChunk = Number(response.headers.get('oci-chunk-min-length'));
    return { url: this.http.followUrl(response.url, location), ...(Number.isSafeInteger(minChunk) && minChunk > 0 && { minChunkBytes: minChunk }) };
  }

  /** One PUT with the whole blob. Returns the status when the registry refused the size of it (413/411). */
  private async uploadWhole(upload: BlobUpload, signal?: AbortSignal): Promise<number | undefined> {
    const { target, repo, session, digest, size, body, what } = upload;
    let payload: Buffer | Readable;
    let verifier: DigestVerifier | undefined;
    if (Buffer.isBuffer(body)) {
      const actual = digestOf(body, hashAlgorithmOf(digest));
      if (body.length !== size) throw digestMismatch(what, `${size} bytes`, `${body.length}`);
      if (actual !== digest) throw digestMismatch(what, digest, actual);
      payload = body;
    } else {
      verifier = new DigestVerifier(digest, size, what);
      payload = pipeline(body, verifier, () => {
        // the verifier carries any error into the request body, which undici then aborts
      });
    }
    const url = new URL(session.url);
    url.searchParams.set('digest', digest);
    let response: HttpResponse;
    try {
      // no Content-Range on a monolithic PUT: some registries then treat it as a chunk (§1.7)
      response = await this.send(
        target,
        [repositoryScope(repo.repository, ['pull', 'push'])],
        { method: 'PUT', url, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body: payload, retry: false },
        signal,
      );
    } catch (error) {
      throw verifier?.failure ?? error;
    }
    if (verifier?.failure) {
      await response.discard();
      throw verifier.failure;
    }
    if ((response.status === 413 || response.status === 411) && Buffer.isBuffer(body)) {
      await response.discard();
      return response.status;
    }
    await this.finishUpload(response, digest, what);
    return undefined;
  }

  /** PATCH chunks with Content-Range, then the closing PUT; `session.url` follows every new Location. */
  private async uploadChunks(upload: BlobUpload, chunkBytes: number, signal?: AbortSignal): Promise<void> {
    const { target, repo, session, digest, size, body, what } = upload;
    const scopes = [repositoryScope(repo.repository, ['pull', 'push'])];
    const chunkSize = Math.max(chunkBytes, session.minChunkBytes ?? 0);
    const algorithm = hashAlgorithmOf(digest);
    const hash = createHash(algorithm);
    let offset = 0;
    for await (const chunk of chunksOf(body, chunkSize)) {
      if (offset + chunk.length > size) throw digestMismatch(what, `${size} bytes`, 'more');
      hash.update(chunk);
      // each PATCH asks the authenticator again, so a long upload picks up a fresh token before the old one dies
      const response = await this.send(
        target,
        scopes,
        {
          method: 'PATCH',
          url: session.url,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
            'content-length': String(chunk.length),
          },
          body: chunk,
          retry: false,
        },
        signal,
      );
      const location = response.headers.get('location');
      if (response.status !== 202) throw await errorForResponse(response, `${what} (chunk at ${offset})`);
      await response.discard();
      if (location !== undefined) session.url = this.http.followUrl(response.url, location);
      offset += chunk.length;
    }
    // checked before the closing PUT, so wrong content never becomes a blob at the target
    if (offset !== size) throw digestMismatch(what, `${size} bytes`, `${offset}`);
    const actual = `${algorithm}:${hash.digest('hex')}`;
    if (actual !== digest) throw digestMismatch(what, digest, actual);
    const url = new URL(session.url);
    url.searchParams.set('digest', digest);
    const response = await this.send(
      target,
      scopes,
      { method: 'PUT', url, headers: { 'content-type': 'application/octet-stream', 'content-length': '0' }, body: Buffer.alloc(0), retry: false },
      signal,
    );
    await this.finishUpload(response, digest, what);
  }

  private async finishUpload(response: HttpResponse, digest: string, what: string): Promise<void> {
    if (response.status !== 201 && response.status !== 204 && response.status !== 200) throw await errorForResponse(response, what);
    await response.discard();
    const answered = response.headers.get('docker-content-digest');
    if (answered !== undefined && answered !== digest) throw digestMismatch(`${what} (registry's digest)`, digest, answered);
  }

  /** DELETE an upload session (§1.7 Cancel); failures don't matter, the registry purges stale sessions. */
  private async cancelUpload(target: AuthTarget, repo: RepositoryRef, session: UploadSession): Promise<void> {
    try {
      const response = await this.send(target, [repositoryScope(repo.repository, ['pull', 'push'])], { method: 'DELETE', url: session.url, retry: false });
      await response.discard();
    } catch (error) {
      this.logger.debug('could not cancel upload session', { url: safeUrl(session.url), error: String(error) });
    }
  }

  // ---------- requests ----------

  private target(registry: string): AuthTarget {
    return { registry, origin: new URL(this.http.originFor(apiHost(registry))) };
  }

  private pageSizeFor(registry: string): number {
    return this.pageSize ?? (isGoogleHost(registry) ? GOOGLE_PAGE_SIZE : DEFAULT_PAGE_SIZE);
  }

  private manifestName(repo: RepositoryRef, reference: string): string {
    return `${formatRepository(repo)}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  private manifestUrl(target: AuthTarget, repo: RepositoryRef, reference: string): URL {
    return new URL(`/v2/${repo.repository}/manifests/${reference}`, target.origin);
  }

  private blobUrl(target: AuthTarget, repo: RepositoryRef, digest: string): URL {
    return new URL(`/v2/${repo.repository}/blobs/${digest}`, target.origin);
  }

  private noteRateLimit(registry: string, response: HttpResponse): void {
    const limit = parseRateLimitValue(response.headers.get('ratelimit-limit'));
    const remaining = parseRateLimitValue(response.headers.get('ratelimit-remaining'));
    if (limit === undefined && remaining === undefined) return;
    this.rateLimits.set(registry, { ...(limit !== undefined && { limit }), ...(remaining !== undefined && { remaining }) });
  }

  /** GETs `first` and every `rel="next"` page after it, handing each JSON body to `take`. */
  private async paginate(
    target: AuthTarget,
    scopes: string[],
    first: URL,
    what: string,
    signal: AbortSignal | undefined,
    take: (body: unknown, where: string) => void,
  ): Promise<void> {
    const seen = new Set<string>();
    let url: URL | undefined = first;
    while (url) {
      if (seen.has(url.href)) throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: pagination loops back to ${safeUrl(url)}`, { ref: what });
      if (seen.size >= MAX_PAGES) throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: more than ${MAX_PAGES} pages`, { ref: what });
      seen.add(url.href);
      const page: URL = url;
      const { response, body } = await this.http.readRetrying(async () => {
        const answer = await this.send(target, scopes, { method: 'GET', url: page, headers: { accept: 'application/json' } }, signal);
        if (answer.status !== 200) throw await errorForResponse(answer, `${what} (${safeUrl(page)})`);
        return { response: answer, body: await answer.json(LISTING_LIMIT) };
      }, signal);
      take(body, `${what} (${safeUrl(response.url)})`);
      // the spec says follow Link verbatim; a short page does not mean the end, only a missing Link does
      const next = nextLinkTarget(response.headers.get('link'));
      url = next === undefined ? undefined : this.http.followUrl(response.url, next);
    }
  }

  /**
   * One request to a registry with its auth: the Authorization learnt so far, and on a 401 from the registry one
   * retry with the challenge answered. Requests to another host (a Link into a redirected backend) carry no
   * credentials and get anonymous tokens only.
   */
  private async send(target: AuthTarget, scopes: string[], req: Omit<HttpRequest, 'answerChallenge'> & { url: URL }, signal?: AbortSignal): Promise<HttpResponse> {
    const answerChallenge = (response: HttpResponse, s?: AbortSignal) => this.auth.answerAnonymously(response, scopes, s);
    const replayable = !(req.body instanceof Readable);
    if (req.url.host !== target.origin.host) {
      const response = await this.http.request({ ...req, answerChallenge }, signal);
      if (response.status !== 401 || !replayable) return response;
      const anonymous = await this.auth.answerAnonymously(response, scopes, signal);
      if (anonymous === undefined) return response;
      await response.discard();
      return this.http.request({ ...req, headers: withAuthorization(req.headers, anonymous), answerChallenge }, signal);
    }
    const authorization = await this.auth.authorization(target, scopes, signal);
    const response = await this.http.request({ ...req, headers: withAuthorization(req.headers, authorization), answerChallenge }, signal);
    if (response.status !== 401 || response.url.host !== target.origin.host || !replayable) return response;
    const retry = await this.auth.answer(target, response, scopes, authorization, signal);
    if (retry === undefined) return response;
    await response.discard();
    return this.http.request({ ...req, headers: withAuthorization(req.headers, retry), answerChallenge }, signal);
  }
}

interface UploadSession {
  /** the latest Location: every answer in an upload replaces it (§1.7) */
  url: URL;
  minChunkBytes?: number;
}

/** One blob on its way to the target: what a whole PUT and a chunked upload both need. */
interface BlobUpload {
  target: AuthTarget;
  repo: RepositoryRef;
  /** shared with the caller, which restarts it in place when a whole PUT is refused */
  session: UploadSession;
  digest: string;
  size: number;
  body: Readable | Buffer;
  /** names the upload in errors */
  what: string;
}
