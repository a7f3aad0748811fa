import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import type { AuthTarget } from '../auth/authenticator.js';
import { repositoryScope } from '../auth/scope.js';
import { GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { deadlineForBytes } from '../http/client.js';
import type { HttpResponse } from '../http/response.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import { formatRepository } from '../ref/reference.js';
import { DigestVerifier, digestMismatch, digestOf, hashAlgorithmOf } from './digest.js';
import { checkDigest, checkRepository, type RegistryRequests, type RepositoryRef } from './request.js';

export interface UploadOptions {
  /** upload in PATCH chunks of this many bytes (raised to the registry's OCI-Chunk-Min-Length) */
  chunkBytes?: number;
  /** continue an upload session opened by `mountBlob` instead of starting one */
  uploadUrl?: string;
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

/** Writing blobs: cross-repository mounts, monolithic and chunked uploads (§1.7, §1.8). */
export class BlobUploader {
  /** `fallbackChunkBytes`: chunk size used when a registry refuses a monolithic upload as too large (413/411) */
  constructor(
    private readonly requests: RegistryRequests,
    private readonly fallbackChunkBytes: number,
  ) {}

  /**
   * Cross-repository mount on one registry (§1.8): 'mounted' on 201; on 202 the registry opened an upload session
   * instead. Any refusal falls back to opening a plain upload session (Harbor answers 401 for unreadable sources).
   */
  async mountBlob(repo: RepositoryRef, digest: string, fromRepository: string, signal: AbortSignal): Promise<'mounted' | { uploadUrl: string }> {
    checkRepository(repo.repository);
    checkRepository(fromRepository);
    checkDigest(digest);
    const target = this.requests.target(repo.registry);
    const url = new URL(`/v2/${repo.repository}/blobs/uploads/`, target.origin);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepository);
    // from the repository itself: a probe that answers 201 when the blob is already there (one scope covers it)
    const scopes = [repositoryScope(repo.repository, ['pull', 'push']), ...(fromRepository === repo.repository ? [] : [repositoryScope(fromRepository, ['pull'])])];
    const response = await this.requests.send(target, scopes, { method: 'POST', url, headers: { 'content-length': '0' }, body: Buffer.alloc(0) }, signal);
    await response.discard();
    if (response.status === 201) return 'mounted';
    const location = response.headers.get('location');
    if (response.status === 202 && location !== undefined) return { uploadUrl: this.requests.http.followUrl(response.url, location).href };
    this.requests.logger.debug('mount refused; starting a plain upload', { repository: formatRepository(repo), from: fromRepository, status: response.status });
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
    signal: AbortSignal,
    opts: UploadOptions = {},
  ): Promise<void> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const target = this.requests.target(repo.registry);
    const what = `upload of ${formatRepository(repo)}@${digest}`;
    const session: UploadSession =
      opts.uploadUrl !== undefined ? { url: this.requests.http.followUrl(target.origin, opts.uploadUrl) } : await this.startUpload(target, repo, signal);
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
      this.requests.logger.debug('monolithic upload refused; uploading in chunks', { repository: formatRepository(repo), status: refused });
      await this.cancelUpload(target, repo, session);
      Object.assign(session, await this.startUpload(target, repo, signal));
      await this.uploadChunks(upload, this.fallbackChunkBytes, signal);
    } catch (error) {
      await this.cancelUpload(target, repo, session);
      throw error;
    }
  }

  private async startUpload(target: AuthTarget, repo: RepositoryRef, signal: AbortSignal): Promise<UploadSession> {
    const url = new URL(`/v2/${repo.repository}/blobs/uploads/`, target.origin);
    const response = await this.requests.send(
      target,
      [repositoryScope(repo.repository, ['pull', 'push'])],
      { method: 'POST', url, headers: { 'content-length': '0' }, body: Buffer.alloc(0) },
      signal,
    );
    const location = response.headers.get('location');
    if (response.status !== 202 || location === undefined) throw await errorForResponse(response, `start upload to ${formatRepository(repo)}`);
    await response.discard();
    const minChunk = Number(response.headers.get('oci-chunk-min-length'));
    return { url: this.requests.http.followUrl(response.url, location), ...(Number.isSafeInteger(minChunk) && minChunk > 0 && { minChunkBytes: minChunk }) };
  }

  /** One PUT with the whole blob. Returns the status when the registry refused the size of it (413/411). */
  private async uploadWhole(upload: BlobUpload, signal: AbortSignal): Promise<number | undefined> {
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
      response = await this.requests.send(
        target,
        [repositoryScope(repo.repository, ['pull', 'push'])],
        {
          method: 'PUT',
          url,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: payload,
          retry: false,
          deadlineMs: deadlineForBytes(size),
        },
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
  private async uploadChunks(upload: BlobUpload, chunkBytes: number, signal: AbortSignal): Promise<void> {
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
      const response = await this.requests.send(
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
          deadlineMs: deadlineForBytes(chunk.length),
        },
        signal,
      );
      const location = response.headers.get('location');
      if (response.status !== 202) throw await errorForResponse(response, `${what} (chunk at ${offset})`);
      await response.discard();
      if (location !== undefined) session.url = this.requests.http.followUrl(response.url, location);
      offset += chunk.length;
    }
    // checked before the closing PUT, so wrong content never becomes a blob at the target
    if (offset !== size) throw digestMismatch(what, `${size} bytes`, `${offset}`);
    const actual = `${algorithm}:${hash.digest('hex')}`;
    if (actual !== digest) throw digestMismatch(what, digest, actual);
    const url = new URL(session.url);
    url.searchParams.set('digest', digest);
    const response = await this.requests.send(
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
      const response = await this.requests.send(
        target,
        [repositoryScope(repo.repository, ['pull', 'push'])],
        { method: 'DELETE', url: session.url, retry: false },
        // the clean-up runs after an abort too
        UNINTERRUPTED,
      );
      await response.discard();
    } catch (error) {
      this.requests.logger.debug('could not cancel upload session', { url: safeUrl(session.url), error: String(error) });
    }
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
