import { execFileSync } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolPath } from './tools.js';

/**
 * A small Docker token server (distribution auth/token.md) for the registry's `auth.token` mode: it checks Basic
 * credentials, grants the requested scopes minus a deny list, and signs RS256 JWTs whose `x5c` header carries a
 * self-signed test certificate that the registry trusts through `rootcertbundle`.
 */
export interface TokenServer {
  /** the realm, e.g. http://127.0.0.1:PORT/token */
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle the registry verifies tokens with */
  certFile: string;
  /** `repository:<name>:<action>` (or `registry:catalog:*`) entries that are never granted; tests may change it */
  deny: Set<string>;
  /** token requests per scope string as requested (`repository:a/b:pull,push`); a request with several scopes counts for each */
  requests: Map<string, number>;
  /** token requests that asked for `scope` (exact string), or all token requests when omitted */
  requestCount(scope?: string): number;
  /** requests answered 401 because of missing or wrong credentials */
  rejected: number;
  /** a refresh token (Docker "identity token") for a user, usable with POST grant_type=refresh_token */
  issueRefreshToken(username: string): string;
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  port: number;
  dir: string;
  users: Record<string, string>;
  /** seconds a token lives; short values let tests exercise refresh */
  ttlSeconds?: number;
  /** grant `pull` to requests without credentials (a public registry) */
  anonymousPull?: boolean;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function makeSigningCert(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync(toolPath('openssl'), [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=gcrsync-test-token-issuer', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' });
  return { keyFile, certFile };
}

/** `repository:a/b:pull,push` → access entry; the name may contain ':' (host:port), so split from both ends. */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const { keyFile, certFile } = makeSigningCert(options.dir);
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const service = 'gcrsync-test-registry';
  const issuer = 'gcrsync-test-token-issuer';
  const realm = `http://127.0.0.1:${options.port}/token`;
  const ttl = options.ttlSeconds ?? 300;
  const refreshTokens = new Map<string, string>();
  const deny = new Set<string>();
  const requests = new Map<string, number>();
  let rejected = 0;
  let total = 0;

  const sign = (subject: string, access: Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + ttl, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key);
    return `${input}.${base64url(signature)}`;
  };

  const grant = (scope: string, user: string | undefined): Access | undefined => {
    const access = parseScope(scope);
    if (!access) return undefined;
    const allowed = access.actions.filter((action) => {
      if (deny.has(`${access.type}:${access.name}:${action}`)) return false;
      if (user !== undefined) return true;
      return options.anonymousPull === true && access.type === 'repository' && action === 'pull';
    });
    return allowed.length > 0 ? { ...access, actions: allowed } : undefined;
  };

  const basicUser = (req: IncomingMessage): string | undefined | null => {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const match = /^Basic\s+(.+)$/i.exec(header);
    if (!match) return null;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    return colon > 0 && options.users[user] === decoded.slice(colon + 1) ? user : null;
  };

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', realm);
    if (url.pathname !== '/token') return answer(res, 404, { error: 'not found' });
    let user: string | undefined | null;
    let scopes: string[];
    let wantRefresh = false;
    if (req.method === 'POST') {
      // OAuth2 form flow (distribution auth/oauth.md), used with identity tokens
      const form = new URLSearchParams(await readBody(req));
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const grantType = form.get('grant_type');
      if (grantType === 'refresh_token') user = refreshTokens.get(form.get('refresh_token') ?? '') ?? null;
      else if (grantType === 'password') {
        const name = form.get('username') ?? '';
        user = options.users[name] !== undefined && options.users[name] === form.get('password') ? name : null;
        wantRefresh = form.get('access_type') === 'offline';
      } else return answer(res, 400, { error: 'unsupported_grant_type' });
      if (form.get('service') !== service) return answer(res, 400, { error: 'invalid_request', error_description: 'wrong service' });
    } else if (req.method === 'GET') {
      user = basicUser(req);
      scopes = url.searchParams.getAll('scope');
      wantRefresh = url.searchParams.get('offline_token') === 'true';
      if (url.searchParams.get('service') !== service) return answer(res, 400, { error: 'invalid_request', error_description: 'wrong service' });
    } else return answer(res, 405, { error: 'method not allowed' });

    total++;
    for (const scope of scopes) requests.set(scope, (requests.get(scope) ?? 0) + 1);
    if (user === null) {
      rejected++;
      res.setHeader('www-authenticate', `Basic realm="${realm}"`);
      return answer(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    const access = scopes.flatMap((scope) => {
      const granted = grant(scope, user);
      return granted ? [granted] : [];
    });
    const token = sign(user ?? '', access);
    const body: Record<string, unknown> = { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
    if (wantRefresh && user) body.refresh_token = issueRefreshToken(user);
    answer(res, 200, body);
  };

  const issueRefreshToken = (username: string): string => {
    const token = randomBytes(24).toString('hex');
    refreshTokens.set(token, username);
    return token;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answer(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });

  return {
    realm,
    service,
    issuer,
    certFile,
    deny,
    requests,
    requestCount: (scope?: string) => (scope === undefined ? total : (requests.get(scope) ?? 0)),
    get rejected() {
      return rejected;
    },
    issueRefreshToken,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
