import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { isTransient } from '../../src/http/retry.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface TestServer {
  url: string;
  host: string;
  seen: Seen[];
  onClientError(listener: () => void): void;
  close(): Promise<void>;
}

/** A loopback HTTP server whose handler sees each request with its body already read. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<TestServer> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    // with a listener node no longer answers by itself: answer as it (and Go's registry) would
    onClientError: (listener) =>
      server.on('clientError', (_error, socket) => {
        listener();
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fast = { retries: 2, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 5000 };

describe('http/client', () => {
  let http: HttpClient;
  const servers: TestServer[] = [];
  const start = async (handler: Parameters<typeof serve>[0]) => {
    const server = await serve(handler);
    servers.push(server);
    return server;
  };
  beforeEach(() => {
    http = new HttpClient({ retry: fast, timeoutMs: 5000 });
  });
  afterEach(async () => {
    await http.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('keeps Authorization on a same-host redirect and drops it on a host change', async () => {
    const storage = await start((_req, res) => res.end('blob-bytes'));
    const registry = await start((req, res) => {
      if (req.url === '/first') {
        res.writeHead(307, { location: '/second' });
        res.end();
      } else {
        res.writeHead(302, { location: `${storage.url}/blob?sig=1` });
        res.end();
      }
    });
    const response = await http.request({ method: 'GET', url: `${registry.url}/first`, headers: { Authorization: 'Bearer registry-token' } }, UNINTERRUPTED);
    assert.equal(response.status, 200);
    assert.equal(await response.text(1000), 'blob-bytes');
    assert.equal(response.url.href, `${storage.url}/blob?sig=1`);
    assert.equal(registry.seen[0]!.headers.authorization, 'Bearer registry-token');
    assert.equal(registry.seen[1]!.headers.authorization, 'Bearer registry-token');
    assert.equal(storage.seen[0]!.headers.authorization, undefined);
  });

  it('answers a 401 from the redirect target with the answerChallenge value, once', async () => {
    const backend = await start((req, res) => {
      if (req.headers.authorization === 'Bearer anonymous-backend-token') {
        res.end('{"tags":[]}');
        return;
      }
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/token",service="backend"' });
      res.end();
    });
    const front = await start((_req, res) => {
      res.writeHead(307, { location: `${backend.url}/v2/x/tags/list` });
      res.end();
    });
    const challenges: string[] = [];
    const response = await http.request({
      method: 'GET',
      url: `${front.url}/v2/x/tags/list`,
      headers: { authorization: 'Basic c2VjcmV0OnNlY3JldA==' },
      answerChallenge: async (r) => {
        challenges.push(r.headers.get('www-authenticate')!);
        return 'Bearer anonymous-backend-token';
      },
    }, UNINTERRUPTED);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(1000), { tags: [] });
    assert.equal(challenges.length, 1);
    assert.match(challenges[0]!, /service="backend"/);
    assert.equal(backend.seen[0]!.headers.authorization, undefined, 'registry credentials never reach the backend');
    assert.equal(backend.seen[1]!.headers.authorization, 'Bearer anonymous-backend-token');
  });

  it('waits for Retry-After on 429 and then succeeds', async () => {
    const server = await start((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end('slow down');
      } else res.end('ok');
    });
    const started = Date.now();
    const response = await http.request({ method: 'GET', url: server.url }, UNINTERRUPTED);
    assert.equal(response.status, 200);
    assert.equal(await response.text(100), 'ok');
    assert.ok(Date.now() - started >= 950, `waited only ${Date.now() - started} ms`);
    assert.equal(server.seen.length, 2);
  });

  it('survives a connection reset', async () => {
    const server = await start((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else res.end('ok');
    });
    const response = await http.request({ method: 'GET', url: server.url }, UNINTERRUPTED);
    assert.equal(await response.text(100), 'ok');
    assert.equal(server.seen.length, 2);
  });

  it('returns the last 503 after using up its retries', async () => {
    const server = await start((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const response = await http.request({ method: 'GET', url: server.url }, UNINTERRUPTED);
    assert.equal(response.status, 503);
    assert.equal(server.seen.length, 1 + fast.retries);
  });

  it('never replays a stream body', async () => {
    const server = await start((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const response = await http.request({ method: 'PUT', url: server.url, body: Readable.from([Buffer.from('once')]) }, UNINTERRUPTED);
    assert.equal(response.status, 503);
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0]!.body, 'once');
  });

  it('does not retry when the request says so', async () => {
    const server = await start((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const response = await http.request({ method: 'PATCH', url: server.url, body: Buffer.from('chunk'), retry: false }, UNINTERRUPTED);
    assert.equal(response.status, 500);
    assert.equal(server.seen.length, 1);
  });

  it('turns a 303 into a GET without body', async () => {
    const server = await start((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(303, { location: '/done' });
        res.end();
      } else res.end(req.method);
    });
    const response = await http.request({ method: 'POST', url: server.url, body: 'payload', headers: { 'content-type': 'text/plain' } }, UNINTERRUPTED);
    assert.equal(await response.text(100), 'GET');
    assert.equal(server.seen[1]!.body, '');
  });

  it('refuses a redirect loop after 10 hops', async () => {
    const server = await start((req, res) => {
      const n = Number(req.url!.slice(1) || 0);
      res.writeHead(302, { location: `/${n + 1}` });
      res.end();
    });
    await assert.rejects(http.request({ method: 'GET', url: server.url }, UNINTERRUPTED), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
    assert.equal(server.seen.length, 11);
  });

  it('refuses a redirect to a private address without contacting it', async () => {
    const server = await start((_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    });
    await assert.rejects(http.request({ method: 'GET', url: server.url }, UNINTERRUPTED), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
  });

  it('refuses plain http to a host that is neither loopback nor insecure', async () => {
    await assert.rejects(http.request({ method: 'GET', url: 'http://registry.example.com/v2/' }, UNINTERRUPTED), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
  });

  it('caps bodies and refuses what is not JSON', async () => {
    const server = await start((req, res) => {
      if (req.url === '/big') res.end('x'.repeat(5000));
      else if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}');
      } else res.end('<html>not json</html>');
    });
    await assert.rejects(http.getJson(`${server.url}/big`, { maxBytes: 1000, signal: UNINTERRUPTED }), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
    await assert.rejects(http.getJson(`${server.url}/html`, { signal: UNINTERRUPTED }), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE'));
    await assert.rejects(http.getJson(`${server.url}/missing`, { signal: UNINTERRUPTED }), (e) => isGcrsyncError(e, 'NOT_FOUND') && /NAME_UNKNOWN/.test(e.message));
  });

  it('keeps tokens and credentials out of network error messages', async () => {
    const closed = await start((_req, res) => res.end());
    const url = `${closed.url}/v2/?access_token=very-secret-token`;
    await closed.close();
    servers.pop();
    const noRetry = new HttpClient({ retry: { ...fast, retries: 0 } });
    try {
      await assert.rejects(
        noRetry.request({ method: 'GET', url, headers: { authorization: 'Basic dXNlcjpodW50ZXIy' } }, UNINTERRUPTED),
        (e) => isGcrsyncError(e, 'REGISTRY') && isTransient(e) && !e.message.includes('very-secret-token') && !e.message.includes('dXNlcjpodW50ZXIy'),
      );
    } finally {
      await noRetry.close();
    }
  });

  it('aborts a pending request with ABORTED', async () => {
    const server = await start(() => {
      // never answers
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(http.request({ method: 'GET', url: server.url }, controller.signal), (e) => isGcrsyncError(e, 'ABORTED'));
  });

  it('bounds connections per origin', async () => {
    let open = 0;
    let peak = 0;
    const server = await start((_req, res) => {
      open++;
      peak = Math.max(peak, open);
      setTimeout(() => {
        open--;
        res.end('ok');
      }, 30);
    });
    const bounded = new HttpClient({ connectionsPerOrigin: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => bounded.request({ method: 'GET', url: server.url }, UNINTERRUPTED).then((r) => r.text(10))));
      assert.deepEqual(answers, Array(8).fill('ok'));
      assert.ok(peak <= 2, `peak ${peak}`);
    } finally {
      await bounded.close();
    }
  });

  it("leaves the process's fetch to Node's own undici: gcrsync's pools stay private", async () => {
    const server = await start((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    await (await http.request({ method: 'GET', url: server.url }, UNINTERRUPTED)).text(10);
    const response = await fetch(server.url);
    assert.equal(await response.text(), 'ok');
    const installed = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
    const { Agent } = await import('undici');
    assert.ok(!(installed instanceof Agent), 'the undici package installed its Agent for everyone');
  });

  it('tries a loopback registry over HTTPS once, however many requests start before it answers', async () => {
    const server = await start((_req, res) => res.end('ok'));
    // each TLS ClientHello reaches the plain-HTTP server as a request it cannot parse
    const parseErrors = countClientErrors(server);
    const url = server.url.replace(/^http:/, 'https:');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => http.request({ method: 'GET', url: `${url}/v2/${n}` }, UNINTERRUPTED).then((r) => r.text(10))));
    assert.deepEqual(answers, Array(12).fill('ok'));
    assert.equal(parseErrors(), 1);
    assert.equal(server.seen.length, 12);
    assert.equal(http.originFor(server.host), server.url);
  });
});

/** How many connections `server` refused as unparseable (the TLS attempts a plain-HTTP server sees). */
function countClientErrors(server: TestServer): () => number {
  let count = 0;
  server.onClientError(() => count++);
  return () => count;
}
