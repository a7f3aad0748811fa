import { createHash } from 'node:crypto';
import { GcrsyncError } from '../errors.js';
import { registerSecret, silentLogger, type Logger } from '../log.js';
import type { HttpClient } from '../http/client.js';
import type { HttpResponse } from '../http/response.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import type { Credentials } from './credentials.js';
import { coversScopes, unionScopes } from './scope.js';

/** What a Bearer token is asked for: the realm and service of a challenge, the scopes, and who asks. */
export interface TokenRequest {
  /** token endpoint, already checked against the URL policy */
  realm: URL;
  service?: string;
  scopes: readonly string[];
  credentials?: Credentials;
}

interface CachedToken {
  scopes: string[];
  token: string;
  expiresAtMs: number;
}

export interface TokenCacheOptions {
  logger?: Logger;
  /** sent as `client_id` in OAuth2 refresh-token requests */
  clientId?: string;
  now?: () => number;
  /** one bounded wait for a token exchange, retries included (default 30 s) */
  deadlineMs?: number;
}

const TOKEN_BODY_LIMIT = 1024 * 1024;
// distribution auth/token.md: "expires_in … defaults to 60 seconds"
const DEFAULT_EXPIRES_IN_S = 60;
// refresh ahead of expiry so a request never carries a token that dies in flight (ggcr/Docker use ~30 s)
const REFRESH_MARGIN_MS = 30_000;
// a token endpoint that never answers must not cost the HTTP client's full retries of 60 s header waits each
const TOKEN_DEADLINE_MS = 30_000;

/** Keys cached tokens by who asked, without keeping the secret itself in the key. */
export function credentialIdentity(credentials: Credentials | undefined): string {
  if (!credentials) return 'anonymous';
  return createHash('sha256').update(JSON.stringify(credentials)).digest('hex').slice(0, 16);
}

function basic(username: string, password: string): string {
  const value = Buffer.from(`${username}:${password}`).toString('base64');
  registerSecret(value);
  return `Basic ${value}`;
}

/** Validates a token answer (`{token|access_token, expires_in?}`); anything else is HOSTILE_RESPONSE. */
export function parseTokenResponse(body: unknown, where: string): { token: string; expiresInS: number } {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const token = [record.token, record.access_token].find((t): t is string => typeof t === 'string' && t.length > 0);
  if (token === undefined) throw new GcrsyncError('HOSTILE_RESPONSE', `token answer from ${where} has no token`, { ref: where });
  const expires = record.expires_in;
  const expiresInS = typeof expires === 'number' && Number.isFinite(expires) && expires > 0 ? expires : DEFAULT_EXPIRES_IN_S;
  return { token, expiresInS };
}

/**
 * Bearer tokens per (realm, service, scope set, identity), cached until shortly before they expire. A cached
 * token whose scopes cover a request is reused; concurrent requests for the same token share one exchange.
 */
export class TokenCache {
  private readonly cache = new Map<string, CachedToken[]>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly logger: Logger;
  private readonly clientId: string;
  private readonly now: () => number;
  private readonly deadlineMs: number;

  constructor(
    private readonly http: HttpClient,
    options: TokenCacheOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.clientId = options.clientId ?? 'gcrsync';
    this.now = options.now ?? Date.now;
    this.deadlineMs = options.deadlineMs ?? TOKEN_DEADLINE_MS;
  }

  async token(request: TokenRequest, signal: AbortSignal): Promise<string> {
    if (request.credentials && 'registryToken' in request.credentials) return request.credentials.registryToken;
    const scopes = unionScopes(request.scopes);
    const group = `${request.realm.href} ${request.service ?? ''} ${credentialIdentity(request.credentials)}`;
    const now = this.now();
    const live = (this.cache.get(group) ?? []).filter((entry) => entry.expiresAtMs > now);
    this.cache.set(group, live);
    const hit = live.find((entry) => coversScopes(entry.scopes, scopes));
    if (hit) return hit.token;

    const flightKey = `${group} ${scopes.join(' ')}`;
    let flight = this.inFlight.get(flightKey);
    if (!flight) {
      flight = this.exchange(request, scopes, signal).then(({ token, expiresInS }) => {
        const lifetimeMs = expiresInS * 1000;
        const expiresAtMs = this.now() + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2);
        this.cache.set(group, [...(this.cache.get(group) ?? []), { scopes, token, expiresAtMs }]);
        return token;
      });
      this.inFlight.set(flightKey, flight);
      const forget = () => this.inFlight.delete(flightKey);
      flight.then(forget, forget);
    }
    return flight;
  }

  /** Drops a token the registry refused, so the next request exchanges a fresh one. */
  invalidate(token: string): void {
    for (const [group, entries] of this.cache) {
      this.cache.set(
        group,
        entries.filter((entry) => entry.token !== token),
      );
    }
  }

  private async exchange(request: TokenRequest, scopes: string[], signal: AbortSignal): Promise<{ token: string; expiresInS: number }> {
    const where = safeUrl(request.realm);
    const credentials = request.credentials;
    let response: HttpResponse | undefined;
    if (credentials && 'identityToken' in credentials) {
      // distribution auth/oauth.md: refresh-token grant; servers without the OAuth2 flow answer 404
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: this.clientId });
      if (request.service) form.set('service', request.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await this.http.request(
        {
          method: 'POST',
          url: request.realm,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
          // a redirect would re-send the refresh token in the body to wherever it points
          followRedirects: false,
          deadlineMs: this.deadlineMs,
        },
        signal,
      );
      if (response.status === 404 || response.status === 405) {
        await response.discard();
        response = undefined;
      }
    }
    if (!response) {
      const url = new URL(request.realm);
      if (request.service) url.searchParams.set('service', request.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (credentials && 'password' in credentials) headers.authorization = basic(credentials.username, credentials.password);
      if (credentials && 'identityToken' in credentials) {
        headers.authorization = basic(credentials.username ?? '<token>', credentials.identityToken);
      }
      response = await this.http.request({ method: 'GET', url, headers, followRedirects: false, deadlineMs: this.deadlineMs }, signal);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.discard();
      // the realm came from the registry's challenge and was checked; where it redirects to was not
      throw new GcrsyncError('HOSTILE_RESPONSE', `token server ${where} answered HTTP ${response.status} (a redirect); credentials are not sent on to another URL`, {
        ref: where,
        status: response.status,
      });
    }
    this.logger.debug('token exchange', { realm: where, service: request.service, scopes, status: response.status });
    if (response.status === 401 || response.status === 403) {
      await response.discard();
      const wanted = scopes.length > 0 ? ` to ${scopes.join(' ')}` : '';
      throw new GcrsyncError('AUTH', `token server ${where} refused access${wanted} for ${request.service ?? 'its registry'} (HTTP ${response.status})`, {
        ref: where,
        status: response.status,
      });
    }
    if (response.status !== 200) throw await errorForResponse(response, `token request to ${where}`);
    // Tokens are not registered as secrets: they live minutes, a long run would pile up thousands of them in the
    // logger's list, and they only ever travel in Authorization headers, which the logger masks by pattern.
    return parseTokenResponse(await response.json(TOKEN_BODY_LIMIT), where);
  }
}
