import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Authenticator } from '../../src/auth/authenticator.js';
import type { Credentials } from '../../src/auth/credentials.js';
import type { Keychain } from '../../src/auth/keychain.js';
import { TokenCache, parseTokenResponse } from '../../src/auth/token.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { HttpResponse, ResponseHeaders } from '../../src/http/response.js';
import { Readable } from 'node:stream';

interface TokenCall {
  method: string;
  scopes: string[];
  service: string | null;
  authorization: string | undefined;
  form?: URLSearchParams;
}

/** A token endpoint that hands out numbered tokens and records each call. */
async function tokenServer(options: { expiresIn?: number; oauth?: boolean; password?: string } = {}) {
  const calls: TokenCall[] = [];
  let issued = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'POST') {
        if (!options.oauth) {
          res.writeHead(404);
          res.end();
          return;
        }
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        calls.push({ method: 'POST', scopes: (form.get('scope') ?? '').split(' ').filter(Boolean), service: form.get('service'), authorization: req.headers.authorization, form });
      } else {
        calls.push({ method: 'GET', scopes: url.searchParams.getAll('scope'), service: url.searchParams.get('service'), authorization: req.headers.authorization });
        if (options.password && req.headers.authorization !== `Basic ${Buffer.from(`user:${options.password}`).toString('base64')}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"details":"bad credentials"}');
          return;
        }
      }
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `token-${issued}`, ...(options.expiresIn !== undefined && { expires_in: options.expiresIn }) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: new URL(`http://127.0.0.1:${port}/token`),
    calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const keychainOf = (credentials?: Credentials): Keychain => ({ resolve: async () => credentials });

function challengeResponse(url: string, header: string): HttpResponse {
  return new HttpResponse(401, new URL(url), new ResponseHeaders({ 'www-authenticate': header }), Readable.from([]));
}

describe('auth/token: Bearer token cache', () => {
  let http: HttpClient;
  let server: Awaited<ReturnType<typeof tokenServer>>;
  afterEach(async () => {
    await http?.close();
    await server?.close();
  });

  it('caches per scope set and reuses a token whose scopes cover the request', async () => {
    server = await tokenServer({ expiresIn: 300 });
    http = new HttpClient();
    const tokens = new TokenCache(http);
    const request = { realm: server.realm, service: 'svc', scopes: ['repository:a:pull,push'] };
    const first = await tokens.token(request, UNINTERRUPTED);
    assert.equal(await tokens.token(request, UNINTERRUPTED), first);
    assert.equal(await tokens.token({ ...request, scopes: ['repository:a:pull'] }, UNINTERRUPTED), first, 'pull is covered by pull,push');
    const other = await tokens.token({ ...request, scopes: ['repository:b:pull'] }, UNINTERRUPTED);
    assert.notEqual(other, first);
    assert.equal(server.calls.length, 2);
    assert.deepEqual(server.calls[0]!.scopes, ['repository:a:pull,push']);
    assert.equal(server.calls[0]!.service, 'svc');
  });

  it('shares one exchange between concurrent requests', async () => {
    server = await tokenServer();
    http = new HttpClient();
    const tokens = new TokenCache(http);
    const request = { realm: server.realm, service: 'svc', scopes: ['repository:a:pull'] };
    const answers = await Promise.all(Array.from({ length: 5 }, () => tokens.token(request, UNINTERRUPTED)));
    assert.equal(new Set(answers).size, 1);
    assert.equal(server.calls.length, 1);
  });

  it('refreshes 30 s before expiry, with expires_in defaulting to 60 s', async () => {
    server = await tokenServer();
    http = new HttpClient();
    let now = 1_000_000;
    const tokens = new TokenCache(http, { now: () => now });
    const request = { realm: server.realm, scopes: ['repository:a:pull'] };
    const first = await tokens.token(request, UNINTERRUPTED);
    now += 29_000;
    assert.equal(await tokens.token(request, UNINTERRUPTED), first);
    now += 2_000;
    assert.notEqual(await tokens.token(request, UNINTERRUPTED), first);
    assert.equal(server.calls.length, 2);
  });

  it('keeps identities apart and sends Basic credentials only to the realm', async () => {
    server = await tokenServer({ expiresIn: 300 });
    http = new HttpClient();
    const tokens = new TokenCache(http);
    const scopes = ['repository:a:pull'];
    const anonymous = await tokens.token({ realm: server.realm, scopes }, UNINTERRUPTED);
    const alice = await tokens.token({ realm: server.realm, scopes, credentials: { username: 'alice', password: 'pw' } }, UNINTERRUPTED);
    assert.notEqual(anonymous, alice);
    assert.equal(server.calls[0]!.authorization, undefined);
    assert.equal(server.calls[1]!.authorization, `Basic ${Buffer.from('alice:pw').toString('base64')}`);
  });

  it('exchanges identity tokens with the OAuth2 refresh grant', async () => {
    server = await tokenServer({ oauth: true });
    http = new HttpClient();
    const tokens = new TokenCache(http);
    await tokens.token({ realm: server.realm, service: 'svc', scopes: ['repository:a:pull', 'repository:b:pull'], credentials: { identityToken: 'refresh-1' } }, UNINTERRUPTED);
    const call = server.calls[0]!;
    assert.equal(call.method, 'POST');
    assert.equal(call.form!.get('grant_type'), 'refresh_token');
    assert.equal(call.form!.get('refresh_token'), 'refresh-1');
    assert.equal(call.form!.get('client_id'), 'gcrsync');
    assert.deepEqual(call.scopes, ['repository:a:pull', 'repository:b:pull']);
  });

  it('falls back to GET with Basic when the realm has no OAuth2 flow', async () => {
    server = await tokenServer({ oauth: false });
    http = new HttpClient();
    const tokens = new TokenCache(http);
    await tokens.token({ realm: server.realm, scopes: ['repository:a:pull'], credentials: { identityToken: 'refresh-1' } }, UNINTERRUPTED);
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0]!.method, 'GET');
    assert.equal(server.calls[0]!.authorization, `Basic ${Buffer.from('<token>:refresh-1').toString('base64')}`);
  });

  it('uses a registry token as is', async () => {
    server = await tokenServer();
    http = new HttpClient();
    const tokens = new TokenCache(http);
    assert.equal(await tokens.token({ realm: server.realm, scopes: [], credentials: { registryToken: 'given' } }, UNINTERRUPTED), 'given');
    assert.equal(server.calls.length, 0);
  });

  it('a refused exchange is AUTH without the password', async () => {
    server = await tokenServer({ password: 'right' });
    http = new HttpClient();
    const tokens = new TokenCache(http);
    await assert.rejects(
      tokens.token({ realm: server.realm, service: 'svc', scopes: ['repository:a:pull'], credentials: { username: 'user', password: 'wrong-password' } }, UNINTERRUPTED),
      (e) => isGcrsyncError(e, 'AUTH') && e.info.status === 401 && !e.message.includes('wrong-password'),
    );
  });

  it('validates token answers', () => {
    assert.deepEqual(parseTokenResponse({ access_token: 'a', expires_in: 300 }, 'r'), { token: 'a', expiresInS: 300 });
    assert.deepEqual(parseTokenResponse({ token: 't', expires_in: 'soon' }, 'r'), { token: 't', expiresInS: 60 });
    assert.throws(() => parseTokenResponse({ expires_in: 5 }, 'r'), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
    assert.throws(() => parseTokenResponse('nope', 'r'), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
  });
});

describe('auth/authenticator', () => {
  let http: HttpClient;
  let server: Awaited<ReturnType<typeof tokenServer>>;
  afterEach(async () => {
    await http?.close();
    await server?.close();
  });
  const target = { registry: '127.0.0.1:5000', origin: new URL('http://127.0.0.1:5000') };

  it('goes anonymous until a challenge is known, then authorizes up front', async () => {
    server = await tokenServer({ expiresIn: 300 });
    http = new HttpClient();
    const auth = new Authenticator({ http, keychain: keychainOf({ username: 'u', password: 'p' }) });
    assert.equal(await auth.authorization(target, ['repository:a:pull'], UNINTERRUPTED), undefined);
    const challenge = challengeResponse('http://127.0.0.1:5000/v2/a/tags/list', `Bearer realm="${server.realm.href}",service="svc",scope="repository:a:pull"`);
    const header = await auth.answer(target, challenge, ['repository:a:pull'], undefined, UNINTERRUPTED);
    assert.equal(header, 'Bearer token-1');
    assert.equal(await auth.authorization(target, ['repository:a:pull'], UNINTERRUPTED), 'Bearer token-1');
    assert.equal(server.calls.length, 1);
  });

  it('widens to the union of scopes when a challenge names a new one', async () => {
    server = await tokenServer({ expiresIn: 300 });
    http = new HttpClient();
    const auth = new Authenticator({ http, keychain: keychainOf() });
    const challenge = challengeResponse('http://127.0.0.1:5000/v2/', `Bearer realm="${server.realm.href}",service="svc",scope="repository:other:pull"`);
    await auth.answer(target, challenge, ['repository:a:pull,push'], undefined, UNINTERRUPTED);
    assert.deepEqual(server.calls[0]!.scopes, ['repository:a:pull,push', 'repository:other:pull']);
  });

  it('gives up rather than repeat a refused Basic header', async () => {
    http = new HttpClient();
    const auth = new Authenticator({ http, keychain: keychainOf({ username: 'u', password: 'p' }) });
    const challenge = challengeResponse('http://127.0.0.1:5000/v2/', 'Basic realm="r"');
    const basic = await auth.answer(target, challenge, [], undefined, UNINTERRUPTED);
    assert.equal(basic, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(await auth.answer(target, challenge, [], basic, UNINTERRUPTED), undefined);
    assert.equal(await new Authenticator({ http, keychain: keychainOf() }).answer(target, challenge, [], undefined, UNINTERRUPTED), undefined);
  });

  it('refuses a realm on a private address named by a public registry', async () => {
    http = new HttpClient();
    const auth = new Authenticator({ http, keychain: keychainOf({ username: 'u', password: 'p' }) });
    const publicTarget = { registry: 'registry.example.com', origin: new URL('https://registry.example.com') };
    const challenge = challengeResponse('https://registry.example.com/v2/', 'Bearer realm="https://169.254.169.254/token",service="x"');
    await assert.rejects(auth.answer(publicTarget, challenge, [], undefined, UNINTERRUPTED), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
  });
});
