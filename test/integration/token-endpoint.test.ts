import assert from 'node:assert/strict';
import { TokenCache } from '../../src/auth/token.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { hostileFront, type HostileFront } from '../support/hostile-front.js';

/**
 * Token endpoints that misbehave in ways the test token server never does: a realm that redirects (and would
 * take the refresh token or the password along), a realm that never answers.
 */
describe('token endpoint: hostile answers', function () {
  this.timeout(60_000);
  const servers: HostileFront[] = [];
  const http = new HttpClient();
  after(async () => {
    await http.close();
    for (const server of servers) await server.stop();
  });

  const REFRESH_TOKEN = 'RefreshTok-3c9d81f2';
  const PASSWORD = 'TokenPass-77ab09e1';

  for (const [name, credentials, status] of [
    ['a refresh token (POSTed in the body)', { identityToken: REFRESH_TOKEN }, 307],
    ['a refresh token (POST redirected as 308)', { identityToken: REFRESH_TOKEN }, 308],
    ['a password (Basic, GET)', { username: 'user', password: PASSWORD }, 302],
  ] as const) {
    it(`a redirect from the realm is an error, and ${name} goes nowhere else`, async () => {
      const trap = await hostileFront(undefined, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'stolen' }));
        return true;
      });
      servers.push(trap);
      const realm = await hostileFront(undefined, (_req, res) => {
        res.writeHead(status, { location: `${trap.url}/collect` }).end();
        return true;
      });
      servers.push(realm);
      const tokens = new TokenCache(http);
      await assert.rejects(
        tokens.token({ realm: new URL(`${realm.url}/token`), service: 'registry', scopes: ['repository:ns/app:pull'], credentials }, UNINTERRUPTED),
        (error: unknown) => isGcrsyncError(error, 'HOSTILE_RESPONSE') && /redirect/.test(error.message) && !error.message.includes(trap.host),
      );
      assert.ok(realm.requests.length >= 1, 'the realm was asked');
      assert.deepEqual(trap.requests, [], 'nothing reached the redirect target');
    });
  }

  it('a realm that never answers is one bounded wait, not the HTTP retries of a full timeout each', async () => {
    const silent = await hostileFront(undefined, () => true);
    servers.push(silent);
    const tokens = new TokenCache(http, { deadlineMs: 1_000 });
    await assert.rejects(
      tokens.token({ realm: new URL(`${silent.url}/token`), service: 'registry', scopes: ['repository:ns/app:pull'], credentials: { username: 'user', password: PASSWORD } }, UNINTERRUPTED),
      (error: unknown) => isGcrsyncError(error, 'REGISTRY') && /took longer than 1000 ms/.test(error.message),
    );
    assert.equal(silent.requests.length, 1, 'asked once');
  });
});
