import { registerSecret, silentLogger, type Logger } from '../log.js';
import type { HttpClient } from '../http/client.js';
import type { HttpResponse } from '../http/response.js';
import { parseWwwAuthenticate, pickChallenge, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import type { Keychain } from './keychain.js';
import { challengeScopes, unionScopes } from './scope.js';
import { TokenCache } from './token.js';

/** A registry as auth sees it: the name credentials are filed under, and the origin its API answers on. */
export interface AuthTarget {
  /** canonical registry (`docker.io`, `gcr.io`, `127.0.0.1:5000`), the keychain key */
  registry: string;
  /** `https://registry-1.docker.io`: where the challenge came from and where credentials may go */
  origin: URL;
}

export interface AuthenticatorOptions {
  http: HttpClient;
  keychain: Keychain;
  logger?: Logger;
  tokens?: TokenCache;
}

function basicHeader(credentials: Credentials | undefined): string | undefined {
  if (!credentials || !('password' in credentials)) return undefined;
  const value = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  registerSecret(value);
  return `Basic ${value}`;
}

/**
 * Produces Authorization values for registry requests. It learns each registry's challenge from its first 401
 * (Bearer preferred, else Basic), then authorizes every later request up front: Basic credentials on each
 * request, or a cached Bearer token for the request's scopes. Credentials go only to the registry and the realm
 * its own challenge names; hosts reached by redirect get anonymous tokens.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly http: HttpClient;
  private readonly keychain: Keychain;
  private readonly tokens: TokenCache;
  private readonly logger: Logger;

  constructor(options: AuthenticatorOptions) {
    this.http = options.http;
    this.keychain = options.keychain;
    this.logger = options.logger ?? silentLogger;
    this.tokens = options.tokens ?? new TokenCache(options.http, { logger: this.logger });
  }

  /** Authorization for a request to `target` needing `scopes`, or undefined while no challenge is known (go anonymous). */
  async authorization(target: AuthTarget, scopes: readonly string[], signal: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenges.get(target.origin.host);
    if (!challenge) return undefined;
    return this.headerFor(target, challenge, scopes, signal);
  }

  /**
   * After `target` answered 401: learns its challenge, widens the scopes to any the challenge names, and returns
   * the Authorization to retry with, or undefined when a retry could not help (no usable challenge, no
   * credentials for Basic, or the same value that was just refused).
   */
  async answer(
    target: AuthTarget,
    response: HttpResponse,
    scopes: readonly string[],
    refused: string | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = pickChallenge(parseWwwAuthenticate(response.headers.all('www-authenticate')));
    if (!challenge) return undefined;
    const { scope, ...rest } = challenge.params;
    this.challenges.set(target.origin.host, { scheme: challenge.scheme, params: rest });
    if (refused?.startsWith('Bearer ')) this.tokens.invalidate(refused.slice('Bearer '.length));
    const header = await this.headerFor(target, challenge, unionScopes(scopes, challengeScopes(scope)), signal);
    return header === refused ? undefined : header;
  }

  /** Answers a 401 from a host reached by redirect with an anonymous Bearer token for that host's own challenge. */
  async answerAnonymously(response: HttpResponse, scopes: readonly string[], signal: AbortSignal): Promise<string | undefined> {
    const challenge = pickChallenge(parseWwwAuthenticate(response.headers.all('www-authenticate')));
    if (challenge?.scheme !== 'bearer') return undefined;
    const realm = this.http.followUrl(response.url, challenge.params.realm!);
    const token = await this.tokens.token(
      {
        realm,
        ...(challenge.params.service !== undefined && { service: challenge.params.service }),
        scopes: unionScopes(scopes, challengeScopes(challenge.params.scope)),
      },
      signal,
    );
    this.logger.debug('answered a redirected host anonymously', { host: response.url.host });
    return `Bearer ${token}`;
  }

  private async headerFor(target: AuthTarget, challenge: Challenge, scopes: readonly string[], signal: AbortSignal): Promise<string | undefined> {
    const credentials = await this.keychain.resolve(target.registry, signal);
    if (challenge.scheme === 'basic') return basicHeader(credentials);
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return undefined;
    const realm = this.http.followUrl(target.origin, challenge.params.realm);
    const token = await this.tokens.token(
      {
        realm,
        ...(challenge.params.service !== undefined && { service: challenge.params.service }),
        scopes,
        ...(credentials && { credentials }),
      },
      signal,
    );
    return `Bearer ${token}`;
  }
}
