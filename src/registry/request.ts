import { Readable } from 'node:stream';
import { Authenticator, type AuthTarget } from '../auth/authenticator.js';
import type { Keychain } from '../auth/keychain.js';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import type { HttpClient, HttpRequest } from '../http/client.js';
import type { HttpResponse } from '../http/response.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import type { Logger } from '../log.js';
import { apiHost, formatRepository, isValidDigest, isValidRepositoryPath, isValidTag } from '../ref/reference.js';

/** A repository at a registry; `registry` as in Reference (`docker.io`, API calls go to apiHost()). */
export type RepositoryRef = { registry: string; repository: string };

function badReference(what: string, value: string): GcrsyncError {
  return new GcrsyncError('BAD_REFERENCE', `invalid ${what} ${JSON.stringify(value)}`, { ref: value });
}

export function checkRepository(repository: string): void {
  if (!isValidRepositoryPath(repository)) throw badReference('repository', repository);
}

export function checkDigest(digest: string): void {
  if (!isValidDigest(digest)) throw badReference('digest', digest);
}

export function checkManifestReference(reference: string): void {
  if (!isValidTag(reference) && !isValidDigest(reference)) throw badReference('tag or digest', reference);
}

export const isDigest = (reference: string) => reference.includes(':');

/** `host/repo:tag` or `host/repo@digest`, naming a manifest in errors. */
export function manifestName(repo: RepositoryRef, reference: string): string {
  return `${formatRepository(repo)}${isDigest(reference) ? '@' : ':'}${reference}`;
}

function withAuthorization(headers: Record<string, string> | undefined, authorization: string | undefined): Record<string, string> {
  const out = { ...headers };
  if (authorization !== undefined) out.authorization = authorization;
  return out;
}

/**
 * Requests to registries with their auth: Basic/Bearer answered per registry. What listing, manifests, blobs
 * and uploads share.
 */
export class RegistryRequests {
  readonly http: HttpClient;
  readonly logger: Logger;
  private readonly auth: Authenticator;
  // registry → the auth target for the origin it was made for
  private readonly targets = new Map<string, { origin: string; target: AuthTarget }>();

  constructor(options: { http: HttpClient; keychain: Keychain; logger: Logger }) {
    this.http = options.http;
    this.logger = options.logger;
    this.auth = new Authenticator({ http: options.http, keychain: options.keychain, logger: options.logger });
  }

  target(registry: string): AuthTarget {
    // asked once per request: the URL is parsed again only when the origin changes (a loopback registry found to
    // answer plain HTTP)
    const origin = this.http.originFor(apiHost(registry));
    const known = this.targets.get(registry);
    if (known?.origin === origin) return known.target;
    const target = { registry, origin: new URL(origin) };
    this.targets.set(registry, { origin, target });
    return target;
  }

  /** Checks that the registry speaks the v2 API and accepts our credentials (or anonymous access). */
  async ping(registry: string, signal: AbortSignal): Promise<void> {
    const target = this.target(registry);
    const url = new URL('/v2/', target.origin);
    let response: HttpResponse;
    try {
      response = await this.send(target, [], { method: 'GET', url }, signal);
    } catch (error) {
      if (isGcrsyncError(error, 'REGISTRY')) {
        throw new GcrsyncError('SOURCE_UNREACHABLE', `cannot reach registry ${registry} (${error.message})`, {
          ref: registry,
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
      ...(failure.info.registryCode !== undefined && { registryCode: failure.info.registryCode }),
    });
  }

  /**
   * One request to a registry with its auth: the Authorization learnt so far, and on a 401 from the registry one
   * retry with the challenge answered. Requests to another host (a Link into a redirected backend) carry no
   * credentials and get anonymous tokens only.
   */
  async send(target: AuthTarget, scopes: string[], req: Omit<HttpRequest, 'answerChallenge'> & { url: URL }, signal: AbortSignal): Promise<HttpResponse> {
    const answerChallenge = (response: HttpResponse, s: AbortSignal) => this.auth.answerAnonymously(response, scopes, s);
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
    const response = await this.http.request(
      { ...req, ...(authorization !== undefined && { headers: withAuthorization(req.headers, authorization) }), answerChallenge },
      signal,
    );
    if (response.status !== 401 || response.url.host !== target.origin.host || !replayable) return response;
    const retry = await this.auth.answer(target, response, scopes, authorization, signal);
    if (retry === undefined) return response;
    await response.discard();
    return this.http.request({ ...req, headers: withAuthorization(req.headers, retry), answerChallenge }, signal);
  }
}
