import { pipeline, type Readable } from 'node:stream';
import { repositoryScope } from '../auth/scope.js';
import { GcrsyncError } from '../errors.js';
import { deadlineForBytes } from '../http/client.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import { formatRepository } from '../ref/reference.js';
import { DigestVerifier } from './digest.js';
import { checkDigest, checkRepository, type RegistryRequests, type RepositoryRef } from './request.js';

/** Reading blobs: HEAD for the size, GET as a verified stream. */
export class BlobRequests {
  constructor(private readonly requests: RegistryRequests) {}

  /** Size of a blob, or undefined when the repository does not have it. */
  async headBlob(repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<number | undefined> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const target = this.requests.target(repo.registry);
    const url = blobUrl(target.origin, repo, digest);
    const response = await this.requests.send(target, [repositoryScope(repo.repository, ['pull'])], { method: 'HEAD', url }, signal);
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
   * `size` (from the manifest) gives the transfer a deadline that fits it instead of the client's default.
   */
  async getBlob(repo: RepositoryRef, digest: string, signal: AbortSignal, size?: number): Promise<{ body: Readable; size?: number }> {
    checkRepository(repo.repository);
    checkDigest(digest);
    const what = `blob ${formatRepository(repo)}@${digest}`;
    const target = this.requests.target(repo.registry);
    const url = blobUrl(target.origin, repo, digest);
    // identity: a CDN's gzip on top of a layer would change the bytes the digest covers (§0)
    const response = await this.requests.send(
      target,
      [repositoryScope(repo.repository, ['pull'])],
      { method: 'GET', url, headers: { 'accept-encoding': 'identity' }, ...(size !== undefined && { deadlineMs: deadlineForBytes(size) }) },
      signal,
    );
    if (response.status !== 200) throw await errorForResponse(response, `GET ${what}`);
    const length = response.contentLength();
    const verifier = new DigestVerifier(digest, length, `GET ${what}`);
    const body = pipeline(response.body, verifier, () => {
      // errors reach the reader through the verifier, which pipeline destroys with them
    });
    return { body, ...(length !== undefined && { size: length }) };
  }

  /**
   * A non-distributable layer's bytes from the `urls` its descriptor names, tried in order, without credentials.
   * The urls come from an untrusted manifest: each passes the URL policy as if the source registry had redirected
   * there (https unless allowed otherwise, no private address, no loopback from a public registry).
   */
  async getBlobFromUrls(repo: RepositoryRef, digest: string, urls: readonly string[], signal: AbortSignal, size?: number): Promise<{ body: Readable; size?: number }> {
    checkDigest(digest);
    const from = this.requests.target(repo.registry).origin;
    let last: unknown = new GcrsyncError('NOT_FOUND', `blob ${digest} of ${formatRepository(repo)} names no url`, { ref: formatRepository(repo) });
    for (const text of urls) {
      let url: URL;
      try {
        url = this.requests.http.followUrl(from, text);
      } catch (error) {
        last = error;
        continue;
      }
      const what = `blob ${digest} from ${safeUrl(url)}`;
      const response = await this.requests.http.request(
        { method: 'GET', url, headers: { 'accept-encoding': 'identity' }, ...(size !== undefined && { deadlineMs: deadlineForBytes(size) }) },
        signal,
      );
      if (response.status !== 200) {
        last = await errorForResponse(response, `GET ${what}`);
        continue;
      }
      const length = response.contentLength();
      const body = pipeline(response.body, new DigestVerifier(digest, length, `GET ${what}`), () => {
        // errors reach the reader through the verifier
      });
      return { body, ...(length !== undefined && { size: length }) };
    }
    throw last;
  }
}

function blobUrl(origin: URL, repo: RepositoryRef, digest: string): URL {
  return new URL(`/v2/${repo.repository}/blobs/${digest}`, origin);
}
