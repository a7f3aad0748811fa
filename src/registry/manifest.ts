import type { AuthTarget } from '../auth/authenticator.js';
import { repositoryScope } from '../auth/scope.js';
import { GcrsyncError } from '../errors.js';
import type { HttpResponse } from '../http/response.js';
import { errorForResponse } from '../http/status-error.js';
import { nextLinkTarget } from '../http/link.js';
import { isValidDigest } from '../ref/reference.js';
import { digestMismatch, digestOf, hashAlgorithmOf } from './digest.js';
import { MANIFEST_ACCEPT, OCI_INDEX, baseMediaType, isManifestMediaType, isSchema1 } from './media-types.js';
import { checkManifestReference, checkRepository, isDigest, manifestName, type RegistryRequests, type RepositoryRef } from './request.js';
import { manifestMediaType, parseManifest, type Descriptor } from './schemas.js';

export interface ManifestDescriptor {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestDescriptor {
  bytes: Buffer;
}

/** A manifest the registry took: its digest, and whether the registry's answer named that digest itself. */
export interface PushedManifest {
  digest: string;
  /** the answer carried Docker-Content-Digest, equal to `digest`: the registry says it holds exactly these bytes */
  confirmed: boolean;
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
}

// distribution refuses manifests over 4 MiB (maxManifestBodySize); the spec asks clients to handle at least 4 MB
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const MAX_REFERRER_PAGES = 1000;

/** `100;w=21600` → 100 (Docker Hub ratelimit-* headers). */
export function parseRateLimitValue(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*(\d+)/.exec(value);
  return match ? Number(match[1]) : undefined;
}

// the bytes of a manifest are hashed when they are read from the source and again when they are PUT at the target
const sha256OfManifest = new WeakMap<Buffer, string>();

function manifestDigest(bytes: Buffer, algorithm: string): string {
  if (algorithm !== 'sha256') return digestOf(bytes, algorithm);
  let digest = sha256OfManifest.get(bytes);
  if (digest === undefined) sha256OfManifest.set(bytes, (digest = digestOf(bytes)));
  return digest;
}

function manifestUrl(target: AuthTarget, repo: RepositoryRef, reference: string): URL {
  return new URL(`/v2/${repo.repository}/manifests/${reference}`, target.origin);
}

/** Manifests: HEAD, GET and PUT, and the Docker Hub rate-limit budget their answers carry. */
export class ManifestRequests {
  private readonly rateLimits = new Map<string, RateLimit>();

  constructor(private readonly requests: RegistryRequests) {}

  /** Refuses bad names before any request; then the manifest's name for messages, its host and its URL. */
  private locate(repo: RepositoryRef, reference: string): { what: string; target: AuthTarget; url: URL } {
    checkRepository(repo.repository);
    checkManifestReference(reference);
    const target = this.requests.target(repo.registry);
    return { what: manifestName(repo, reference), target, url: manifestUrl(target, repo, reference) };
  }

  /** Digest, media type and size of a manifest (HEAD, falling back to GET when headers are missing); undefined = 404. */
  async headManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<ManifestDescriptor | undefined> {
    const { what, target, url } = this.locate(repo, reference);
    const response = await this.head(repo, target, url, {}, signal);
    return response === undefined ? undefined : this.describe(repo, reference, what, response, signal);
  }

  /**
   * The digest a manifest reference points at now (undefined = 404), asked with `If-None-Match: "<known>"`:
   * distribution, whose ETag is the digest, answers 304 while it is still `known` without reading the manifest (a
   * fifth less of its CPU per HEAD); a registry that ignores the header answers as headManifest reads it.
   */
  async headManifestDigest(repo: RepositoryRef, reference: string, known: string, signal: AbortSignal): Promise<{ digest: string } | undefined> {
    const { what, target, url } = this.locate(repo, reference);
    const response = await this.head(repo, target, url, isValidDigest(known) ? { 'if-none-match': `"${known}"` } : {}, signal);
    if (response === undefined) return undefined;
    if (response.status === 304 && isValidDigest(known)) {
      await response.discard();
      return { digest: known };
    }
    return this.describe(repo, reference, what, response, signal);
  }

  /** The HEAD's answer, or undefined for a 404. */
  private async head(repo: RepositoryRef, target: AuthTarget, url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse | undefined> {
    const response = await this.requests.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'HEAD', url, headers: { accept: MANIFEST_ACCEPT, ...headers } }, signal);
    // a 429 carries the budget too, and is exactly when the run must learn it is spent
    this.noteRateLimit(repo.registry, response);
    if (response.status !== 404) return response;
    await response.discard();
    return undefined;
  }

  private async describe(repo: RepositoryRef, reference: string, what: string, response: HttpResponse, signal: AbortSignal): Promise<ManifestDescriptor> {
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
  async getManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    const { what, target, url } = this.locate(repo, reference);
    const { response, bytes } = await this.requests.http.readRetrying(async () => {
      const answer = await this.requests.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'GET', url, headers: { accept: MANIFEST_ACCEPT } }, signal);
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
    const digest = manifestDigest(bytes, isDigest(reference) ? hashAlgorithmOf(reference) : 'sha256');
    if (isDigest(reference) && digest !== reference) throw digestMismatch(`GET manifest ${what}`, reference, digest);
    return { digest, mediaType, size: bytes.length, bytes };
  }

  /** PUTs the exact bytes under a tag or digest; returns their digest after checking the registry agrees. */
  async putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<PushedManifest> {
    const { what, target, url } = this.locate(repo, reference);
    const digest = manifestDigest(bytes, isDigest(reference) ? hashAlgorithmOf(reference) : 'sha256');
    if (isDigest(reference) && digest !== reference) throw digestMismatch(`PUT manifest ${what}`, reference, digest);
    const response = await this.requests.send(
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
    return { digest, confirmed: answered !== undefined };
  }

  /**
   * The OCI 1.1 referrers of `digest` (`GET /v2/<name>/referrers/<digest>`): the descriptors of the manifests whose
   * `subject` it is; undefined when the registry does not serve the API (distribution 2.8, most registries before 2024).
   */
  async getReferrers(repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<Descriptor[] | undefined> {
    checkRepository(repo.repository);
    checkManifestReference(digest);
    const what = `referrers of ${manifestName(repo, digest)}`;
    const target = this.requests.target(repo.registry);
    const manifests: Descriptor[] = [];
    const seen = new Set<string>();
    // the spec lets a registry page the list with Link, like tags/list
    for (let url: URL | undefined = new URL(`/v2/${repo.repository}/referrers/${digest}`, target.origin); url !== undefined; ) {
      if (seen.has(url.href) || seen.size >= MAX_REFERRER_PAGES) throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: pagination loops or never ends`, { ref: what });
      seen.add(url.href);
      const page: URL = url;
      const { status, bytes, link, from } = await this.requests.http.readRetrying(async () => {
        const answer = await this.requests.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'GET', url: page, headers: { accept: OCI_INDEX } }, signal);
        // registries without the API answer it as an unknown route
        if (seen.size === 1 && (answer.status === 404 || answer.status === 400 || answer.status === 405)) {
          await answer.discard();
          return { status: answer.status, bytes: undefined, link: undefined, from: answer.url };
        }
        if (answer.status !== 200) throw await errorForResponse(answer, `GET ${what}`);
        return { status: answer.status, bytes: await answer.buffer(MANIFEST_LIMIT), link: answer.headers.get('link'), from: answer.url };
      }, signal);
      if (status !== 200 || bytes === undefined) return undefined;
      const index = parseManifest(bytes, OCI_INDEX, what);
      if (index.kind !== 'index') throw new GcrsyncError('HOSTILE_RESPONSE', `${what} is not an image index`, { ref: what });
      manifests.push(...index.manifests);
      const next = nextLinkTarget(link);
      url = next === undefined ? undefined : this.requests.http.followUrl(new URL(from), next);
    }
    return manifests;
  }

  /** The last Docker Hub `ratelimit-*` values seen on a manifest answer from `registry`. */
  rateLimit(registry: string): RateLimit | undefined {
    return this.rateLimits.get(registry);
  }

  private noteRateLimit(registry: string, response: HttpResponse): void {
    const limit = parseRateLimitValue(response.headers.get('ratelimit-limit'));
    const remaining = parseRateLimitValue(response.headers.get('ratelimit-remaining'));
    if (limit === undefined && remaining === undefined) return;
    this.rateLimits.set(registry, { ...(limit !== undefined && { limit }), ...(remaining !== undefined && { remaining }) });
  }
}
