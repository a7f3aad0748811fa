import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createKeychain } from '../../src/auth/keychain.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { isTransient } from '../../src/http/retry.js';
import { RegistryClient, type RepositoryRef } from '../../src/registry/client.js';
import { parseManifest } from '../../src/registry/schemas.js';
import { getManifest as oracleManifest, hasBlob, headDigest, pushTestImage, tagManifest } from '../support/images.js';
import { startRegistry, type RegistryAuth, type TestRegistry } from '../support/registry.js';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const fastRetry = { retries: 3, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 5000 };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Bytes delivered in pieces with a pause between them, like a slow source registry. */
function slowStream(data: Buffer, pieceBytes: number, pauseMs: number): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < data.length; offset += pieceBytes) {
        if (offset > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        yield data.subarray(offset, offset + pieceBytes);
      }
    })(),
  );
}

function clientFor(registry: { host: string }, credentialsOf: TestRegistry, options: { pageSize?: number; password?: string } = {}) {
  const http = new HttpClient({ retry: fastRetry, timeoutMs: 20_000 });
  const credentials = credentialsOf.credentials && {
    username: credentialsOf.credentials.username,
    password: options.password ?? credentialsOf.credentials.password,
  };
  const keychain = createKeychain({ explicit: credentials ? { [registry.host]: credentials } : {}, dockerConfigPath: '/nonexistent/config.json' });
  const client = new RegistryClient({ http, keychain, ...(options.pageSize !== undefined && { pageSize: options.pageSize }) });
  return { http, client };
}

// ---------- a tiny proxy in front of a real registry ----------

type Hook = (req: IncomingMessage, body: Buffer, res: ServerResponse, proxy: TestProxy) => Promise<boolean> | boolean;

interface TestProxy {
  host: string;
  url: string;
  requests: string[];
  /** forwards a request upstream and returns the whole answer */
  forward(req: IncomingMessage, body: Buffer, path?: string): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>;
  close(): Promise<void>;
}

async function startProxy(upstream: string, hook?: Hook): Promise<TestProxy> {
  const target = new URL(upstream);
  const forward: TestProxy['forward'] = (req, body, path = req.url!) =>
    new Promise((resolve, reject) => {
      // the Host header goes through unchanged, so the registry builds Location/Link URLs that point at the proxy
      const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => resolve({ status: answer.statusCode!, headers: answer.headers, body: Buffer.concat(chunks) }));
        answer.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  const proxy: TestProxy = { host: '', url: '', requests: [], forward, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      proxy.requests.push(`${req.method} ${req.url}`);
      try {
        if (hook && (await hook(req, body, res, proxy))) return;
        const answer = await forward(req, body);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } catch (error) {
        res.writeHead(502);
        res.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://${proxy.host}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/**
 * distribution 2.8 ignores `n` on tags/list, so this hook pages the full answer itself: sorted, `n` per page,
 * `Link` absolute on odd pages and relative on even ones (both forms occur in the wild).
 */
const paginateTags: Hook = async (req, body, res, proxy) => {
  const url = new URL(req.url!, 'http://proxy');
  if (req.method !== 'GET' || !url.pathname.endsWith('/tags/list')) return false;
  const answer = await proxy.forward(req, body, url.pathname);
  if (answer.status !== 200) {
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    return true;
  }
  const all = ((JSON.parse(answer.body.toString()) as { tags: string[] | null }).tags ?? []).sort();
  const n = Number(url.searchParams.get('n') ?? all.length);
  const last = url.searchParams.get('last');
  const start = last === null ? 0 : all.findIndex((t) => t > last);
  const page = start < 0 ? [] : all.slice(start, start + n);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (start >= 0 && start + n < all.length) {
    const next = `${url.pathname}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}`;
    const pageNumber = Math.floor(start / n);
    headers.link = `<${pageNumber % 2 === 0 ? `${proxy.url}${next}` : next}>; rel="next"`;
  }
  res.writeHead(200, headers);
  res.end(JSON.stringify({ name: url.pathname.slice(4, -'/tags/list'.length), tags: page }));
  return true;
};

// ---------- the suite ----------

describe('registry client against docker-registry', function () {
  this.timeout(120_000);

  for (const mode of ['none', 'htpasswd', 'token'] as RegistryAuth[]) {
    describe(`auth: ${mode}`, () => {
      let registry: TestRegistry;
      let http: HttpClient;
      let client: RegistryClient;
      const repo = (repository: string): RepositoryRef => ({ registry: registry.host, repository });
      let image: Awaited<ReturnType<typeof pushTestImage>>;
      let multi: Awaited<ReturnType<typeof pushTestImage>>;

      before(async () => {
        registry = await startRegistry({ auth: mode });
        ({ http, client } = clientFor(registry, registry));
        image = await pushTestImage(registry, 'src/app', 'v1', { layerBytes: 4096 });
        multi = await pushTestImage(registry, 'src/multi', 'v1', { platforms: ['linux/amd64', 'linux/arm64'], format: 'oci' });
      });
      after(async () => {
        await http?.close();
        await registry?.stop();
      });

      it('pings: GET /v2/ answers 200, with credentials when the registry asks for them', async () => {
        const answers: string[] = [];
        const proxy = await startProxy(registry.url, async (req, body, res, self) => {
          const answer = await self.forward(req, body);
          answers.push(`${req.method} ${req.url} ${answer.status}${req.headers.authorization === undefined ? '' : ' with credentials'}`);
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
          return true;
        });
        const through = clientFor(proxy, registry);
        try {
          await through.client.ping(proxy.host, UNINTERRUPTED);
        } finally {
          await through.http.close();
          await proxy.close();
        }
        assert.equal(answers.at(-1), mode === 'none' ? 'GET /v2/ 200' : 'GET /v2/ 200 with credentials', answers.join('\n'));
      });

      it('lists every tag across Link pages (relative and absolute)', async () => {
        const tags = ['v1', ...Array.from({ length: 8 }, (_, i) => `t${i}`)];
        for (const tag of tags.slice(1)) await tagManifest(registry, 'src/app', 'v1', tag);
        const proxy = await startProxy(registry.url, paginateTags);
        const paged = clientFor(proxy, registry, { pageSize: 3 });
        try {
          const listed = await paged.client.listTags({ registry: proxy.host, repository: 'src/app' }, UNINTERRUPTED);
          assert.deepEqual(listed, [...tags].sort());
          const pages = proxy.requests.filter((r) => r.startsWith('GET /v2/src/app/tags/list'));
          // 9 tags at 3 per page; a 401 retry may repeat the first request
          assert.ok(pages.filter((r) => r.includes('last=')).length === 2, pages.join('\n'));
        } finally {
          await paged.http.close();
          await proxy.close();
        }
      });

      it('pages through _catalog', async () => {
        for (const name of ['cat/a', 'cat/b', 'cat/c', 'cat/d']) await pushTestImage(registry, name, 'v1');
        const paged = clientFor(registry, registry, { pageSize: 2 });
        try {
          const repositories = await paged.client.catalog(registry.host, UNINTERRUPTED);
          for (const name of ['cat/a', 'cat/b', 'cat/c', 'cat/d', 'src/app', 'src/multi']) assert.ok(repositories.includes(name), `${name} in ${repositories}`);
          assert.equal(new Set(repositories).size, repositories.length);
          assert.match(registry.log(), /_catalog\?last=/, 'the registry served more than one page');
        } finally {
          await paged.http.close();
        }
      });

      it('heads and gets manifests by tag and digest', async () => {
        const head = await client.headManifest(repo('src/app'), 'v1', UNINTERRUPTED);
        assert.deepEqual(head, { digest: image.digest, mediaType: image.mediaType, size: image.size });
        const byDigest = await client.getManifest(repo('src/app'), image.digest, UNINTERRUPTED);
        assert.equal(sha256(byDigest.bytes), image.digest);
        assert.equal(byDigest.mediaType, image.mediaType);
        const index = await client.headManifest(repo('src/multi'), 'v1', UNINTERRUPTED);
        assert.equal(index?.digest, multi.digest);
        assert.equal(index?.mediaType, 'application/vnd.oci.image.index.v1+json');
        assert.equal(await client.headManifest(repo('src/app'), 'no-such-tag', UNINTERRUPTED), undefined);
        await assert.rejects(client.getManifest(repo('src/app'), 'no-such-tag', UNINTERRUPTED), (e) => isGcrsyncError(e, 'NOT_FOUND') && e.message.includes('src/app'));
      });

      it('asks for a digest it expects: 304 while the tag is still there, the new digest once it moved, nothing once gone', async () => {
        await tagManifest(registry, 'src/app', 'v1', 'expect');
        const count304 = () => registry.log().match(/method=HEAD [^\n]*uri=\/v2\/src\/app\/manifests\/expect [^\n]*status=304/g)?.length ?? 0;
        assert.deepEqual(await client.headManifestDigest(repo('src/app'), 'expect', image.digest, UNINTERRUPTED), { digest: image.digest });
        assert.equal(count304(), 1, 'the registry answered Not Modified, without reading the manifest');
        const moved = await pushTestImage(registry, 'src/app', 'expect', { seed: 'moved' });
        assert.notEqual(moved.digest, image.digest);
        assert.equal((await client.headManifestDigest(repo('src/app'), 'expect', image.digest, UNINTERRUPTED))?.digest, moved.digest);
        assert.equal(count304(), 1);
        assert.equal(await client.headManifestDigest(repo('src/app'), 'no-such-tag', image.digest, UNINTERRUPTED), undefined);
      });

      it('copies an index and its children byte for byte (digests preserved)', async () => {
        const source = await client.getManifest(repo('src/multi'), 'v1', UNINTERRUPTED);
        const parsed = parseManifest(source.bytes, source.mediaType, 'test');
        assert.equal(parsed.kind, 'index');
        if (parsed.kind !== 'index') return;
        for (const child of parsed.manifests) {
          const childManifest = await client.getManifest(repo('src/multi'), child.digest, UNINTERRUPTED);
          const childParsed = parseManifest(childManifest.bytes, childManifest.mediaType, 'test');
          assert.equal(childParsed.kind, 'manifest');
          if (childParsed.kind !== 'manifest') continue;
          for (const blob of [childParsed.config, ...childParsed.layers]) {
            if ((await client.headBlob(repo('dst/multi'), blob.digest, UNINTERRUPTED)) !== undefined) continue;
            const { body, size } = await client.getBlob(repo('src/multi'), blob.digest, UNINTERRUPTED);
            assert.equal(size, blob.size);
            await client.uploadBlob(repo('dst/multi'), blob.digest, blob.size, body, UNINTERRUPTED);
          }
          assert.deepEqual(await client.putManifest(repo('dst/multi'), child.digest, childManifest.bytes, childManifest.mediaType, UNINTERRUPTED), { digest: child.digest, confirmed: true });
        }
        assert.deepEqual(await client.putManifest(repo('dst/multi'), 'v1', source.bytes, source.mediaType, UNINTERRUPTED), { digest: multi.digest, confirmed: true });
        assert.equal(await headDigest(registry, 'dst/multi', 'v1'), multi.digest);
        const copied = await oracleManifest(registry, 'dst/multi', 'v1');
        assert.ok(copied.bytes.equals(source.bytes));
      });

      it('uploads monolithic from a Buffer and from a stream, and chunked', async () => {
        const cases = [
          { repository: 'up/buffer', data: randomBytes(3000), body: (d: Buffer) => d as Buffer | Readable, chunkBytes: undefined },
          { repository: 'up/stream', data: randomBytes(70_000), body: (d: Buffer) => slowStream(d, 16_384, 0), chunkBytes: undefined },
          { repository: 'up/chunked', data: randomBytes(10_000), body: (d: Buffer) => slowStream(d, 1500, 0), chunkBytes: 4096 },
        ];
        for (const c of cases) {
          const digest = sha256(c.data);
          assert.equal(await client.headBlob(repo(c.repository), digest, UNINTERRUPTED), undefined);
          await client.uploadBlob(repo(c.repository), digest, c.data.length, c.body(c.data), UNINTERRUPTED, {
            ...(c.chunkBytes !== undefined && { chunkBytes: c.chunkBytes }),
          });
          assert.equal(await client.headBlob(repo(c.repository), digest, UNINTERRUPTED), c.data.length, c.repository);
          const { body } = await client.getBlob(repo(c.repository), digest, UNINTERRUPTED);
          assert.ok((await readAll(body)).equals(c.data), c.repository);
        }
        assert.match(registry.log(), /PATCH/, 'the chunked upload used PATCH');
      });

      it('mounts a blob from another repository, and opens a session when it cannot', async () => {
        const layer = image.blobs[image.blobs.length - 1]!;
        assert.equal(await client.mountBlob(repo('mnt/app'), layer, 'src/app', UNINTERRUPTED), 'mounted');
        assert.ok(await hasBlob(registry, 'mnt/app', layer));

        const data = randomBytes(2048);
        const digest = sha256(data);
        const answer = await client.mountBlob(repo('mnt/other'), digest, 'src/app', UNINTERRUPTED);
        assert.notEqual(answer, 'mounted');
        if (answer === 'mounted') return;
        await client.uploadBlob(repo('mnt/other'), digest, data.length, data, UNINTERRUPTED, { uploadUrl: answer.uploadUrl });
        assert.equal(await client.headBlob(repo('mnt/other'), digest, UNINTERRUPTED), data.length);
      });

      it('refuses corrupted uploads with DIGEST_MISMATCH and leaves nothing at the target', async () => {
        const data = randomBytes(50_000);
        const digest = sha256(data);
        const corrupt = Buffer.from(data);
        corrupt[corrupt.length - 10] ^= 0xff;
        const attempts: Array<[string, () => Readable | Buffer, number | undefined]> = [
          ['stream', () => slowStream(corrupt, 8192, 0), undefined],
          ['buffer', () => corrupt, undefined],
          ['chunked', () => slowStream(corrupt, 8192, 0), 16_384],
          ['short stream', () => slowStream(data.subarray(0, 40_000), 8192, 0), undefined],
        ];
        for (const [name, body, chunkBytes] of attempts) {
          await assert.rejects(
            client.uploadBlob(repo('bad/app'), digest, data.length, body(), UNINTERRUPTED, { ...(chunkBytes !== undefined && { chunkBytes }) }),
            (e) => isGcrsyncError(e, 'DIGEST_MISMATCH') && e.message.includes('bad/app'),
            name,
          );
          assert.equal(await client.headBlob(repo('bad/app'), digest, UNINTERRUPTED), undefined, name);
        }
      });

      it('reports a manifest whose blobs are missing as a registry error naming the repository', async () => {
        const source = await client.getManifest(repo('src/app'), 'v1', UNINTERRUPTED);
        await assert.rejects(
          client.putManifest(repo('empty/app'), 'v1', source.bytes, source.mediaType, UNINTERRUPTED),
          (e) => isGcrsyncError(e) && e.code === 'REGISTRY' && /empty\/app/.test(e.message) && /MANIFEST_BLOB_UNKNOWN/.test(e.message),
        );
      });

      it('refuses a put whose bytes do not match the digest it names', async () => {
        const source = await client.getManifest(repo('src/app'), 'v1', UNINTERRUPTED);
        await assert.rejects(client.putManifest(repo('src/app'), multi.digest, source.bytes, source.mediaType, UNINTERRUPTED), (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
      });

      if (mode !== 'none') {
        it('fails with AUTH on a wrong password, without the password in the message', async () => {
          const wrong = clientFor(registry, registry, { password: 'not-the-password' });
          try {
            await assert.rejects(wrong.client.ping(registry.host, UNINTERRUPTED), (e) => isGcrsyncError(e, 'AUTH') && !e.message.includes('not-the-password'));
            await assert.rejects(wrong.client.listTags(repo('src/app'), UNINTERRUPTED), (e) => isGcrsyncError(e, 'AUTH') && e.message.includes('src/app'));
          } finally {
            await wrong.http.close();
          }
        });

        it('fails with AUTH when anonymous', async () => {
          const anonymous = clientFor(registry, { ...registry, credentials: undefined } as TestRegistry);
          try {
            await assert.rejects(anonymous.client.headManifest(repo('src/app'), 'v1', UNINTERRUPTED), (e) => isGcrsyncError(e, 'AUTH'));
          } finally {
            await anonymous.http.close();
          }
        });
      }
    });
  }

  describe('token server behaviour', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startRegistry({ auth: 'token', tokenTtlSeconds: 2 });
      await pushTestImage(registry, 'tok/app', 'v1');
    });
    after(async () => {
      await registry?.stop();
    });

    it('caches tokens per scope set and reuses push tokens for pulls', async () => {
      const { http, client } = clientFor(registry, registry);
      try {
        const before = registry.tokenServer!.requestCount();
        const repo = { registry: registry.host, repository: 'tok/app' };
        await Promise.all([client.listTags(repo, UNINTERRUPTED), client.headManifest(repo, 'v1', UNINTERRUPTED), client.getManifest(repo, 'v1', UNINTERRUPTED)]);
        for (let i = 0; i < 5; i++) await client.headManifest(repo, 'v1', UNINTERRUPTED);
        await client.listTags(repo, UNINTERRUPTED);
        assert.equal(registry.tokenServer!.requestCount() - before, 1, 'one pull token served all reads');
        const manifest = await client.getManifest(repo, 'v1', UNINTERRUPTED);
        await client.putManifest(repo, 'again', manifest.bytes, manifest.mediaType, UNINTERRUPTED);
        await client.headManifest(repo, 'again', UNINTERRUPTED);
        assert.equal(registry.tokenServer!.requestCount() - before, 2, 'pull,push token fetched once and reused for the pull after it');
      } finally {
        await http.close();
      }
    });

    it('refreshes the token between chunks of a long upload', async () => {
      const { http, client } = clientFor(registry, registry);
      try {
        const data = randomBytes(12_000);
        const digest = sha256(data);
        const repo = { registry: registry.host, repository: 'tok/slow' };
        const scope = 'repository:tok/slow:pull,push';
        await client.uploadBlob(repo, digest, data.length, slowStream(data, 4000, 1300), UNINTERRUPTED, { chunkBytes: 4000 });
        assert.equal(await client.headBlob(repo, digest, UNINTERRUPTED), data.length);
        // 2 s tokens are refreshed after 1 s, so the 1.3 s pauses need a new token for each PATCH
        assert.ok(registry.tokenServer!.requestCount(scope) >= 3, `token requests for ${scope}: ${registry.tokenServer!.requestCount(scope)}`);
      } finally {
        await http.close();
      }
    });

    it('answers AUTH when the token server withholds push', async () => {
      const { http, client } = clientFor(registry, registry);
      registry.tokenServer!.deny.add('repository:tok/denied:push');
      try {
        const repo = { registry: registry.host, repository: 'tok/app' };
        const manifest = await client.getManifest(repo, 'v1', UNINTERRUPTED);
        await assert.rejects(
          client.putManifest({ registry: registry.host, repository: 'tok/denied' }, 'v1', manifest.bytes, manifest.mediaType, UNINTERRUPTED),
          (e) => isGcrsyncError(e, 'AUTH') && e.message.includes('tok/denied'),
        );
      } finally {
        registry.tokenServer!.deny.clear();
        await http.close();
      }
    });
  });

  describe('through faults', () => {
    let registry: TestRegistry;
    let pushed: Awaited<ReturnType<typeof pushTestImage>>;
    before(async () => {
      registry = await startRegistry({ auth: 'htpasswd' });
      pushed = await pushTestImage(registry, 'fault/app', 'v1', { layerBytes: 8192 });
    });
    after(async () => {
      await registry?.stop();
    });

    it('survives a 429 with Retry-After and a connection reset', async () => {
      let throttled = 0;
      let reset = 0;
      const proxy = await startProxy(registry.url, (req, _body, res) => {
        if (req.url!.includes('/tags/list') && throttled === 0) {
          throttled++;
          res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
          return true;
        }
        if (req.url!.includes('/manifests/') && reset === 0) {
          reset++;
          req.socket.destroy();
          return true;
        }
        return false;
      });
      const { http, client } = clientFor(proxy, registry);
      try {
        const started = Date.now();
        const repo = { registry: proxy.host, repository: 'fault/app' };
        assert.deepEqual(await client.listTags(repo, UNINTERRUPTED), ['v1']);
        assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
        assert.equal((await client.getManifest(repo, 'v1', UNINTERRUPTED)).digest, pushed.digest);
        assert.equal(throttled, 1);
        assert.equal(reset, 1);
      } finally {
        await http.close();
        await proxy.close();
      }
    });

    it('reports RATE_LIMITED (temporary) when the 429s do not stop', async () => {
      const proxy = await startProxy(registry.url, (req, _body, res) => {
        if (!req.url!.includes('/tags/list')) return false;
        res.writeHead(429, { 'retry-after': '0' });
        res.end();
        return true;
      });
      const { http, client } = clientFor(proxy, registry);
      try {
        await assert.rejects(
          client.listTags({ registry: proxy.host, repository: 'fault/app' }, UNINTERRUPTED),
          (e) => isGcrsyncError(e, 'RATE_LIMITED') && isTransient(e) && e.message.includes('fault/app'),
        );
      } finally {
        await http.close();
        await proxy.close();
      }
    });

    it('detects tampered manifests and blobs (DIGEST_MISMATCH)', async () => {
      const proxy = await startProxy(registry.url, async (req, body, res, p) => {
        if (req.method !== 'GET' || !/\/(manifests|blobs)\/sha256:/.test(req.url!)) return false;
        const answer = await p.forward(req, body);
        let bytes = answer.body;
        // still valid JSON, but not the bytes the digest names; blob bytes just get one bit flipped
        if (req.url!.includes('/manifests/')) bytes = Buffer.from(bytes.toString().replace('{', '{ '));
        else bytes[bytes.length - 2] ^= 1;
        res.writeHead(answer.status, { ...answer.headers, 'content-length': String(bytes.length) });
        res.end(bytes);
        return true;
      });
      const { http, client } = clientFor(proxy, registry);
      try {
        const repo = { registry: proxy.host, repository: 'fault/app' };
        await assert.rejects(client.getManifest(repo, pushed.digest, UNINTERRUPTED), (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
        const layer = pushed.blobs[pushed.blobs.length - 1]!;
        const { body } = await client.getBlob(repo, layer, UNINTERRUPTED);
        await assert.rejects(readAll(body), (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
      } finally {
        await http.close();
        await proxy.close();
      }
    });

    it('follows a blob redirect to storage without sending credentials there', async () => {
      const storageAuth: Array<string | undefined> = [];
      const storage = await startProxy(registry.url, async (req, body, res, p) => {
        storageAuth.push(req.headers.authorization);
        // storage holds the bytes itself: fetch them from the registry with the test's own credentials
        const basic = `Basic ${Buffer.from(`${registry.credentials!.username}:${registry.credentials!.password}`).toString('base64')}`;
        const forwarded = Object.assign(Object.create(req) as IncomingMessage, { headers: { ...req.headers, authorization: basic } });
        const answer = await p.forward(forwarded, body, `/v2/fault/app/blobs/${req.url!.slice(1)}`);
        res.writeHead(answer.status, { 'content-length': String(answer.body.length) });
        res.end(answer.body);
        return true;
      });
      const front = await startProxy(registry.url, (req, _body, res) => {
        const match = /^\/v2\/fault\/app\/blobs\/(sha256:[0-9a-f]+)$/.exec(req.url!);
        if (req.method !== 'GET' || !match || !req.headers.authorization) return false;
        res.writeHead(307, { location: `${storage.url}/${match[1]}` });
        res.end();
        return true;
      });
      const { http, client } = clientFor(front, registry);
      try {
        const layer = pushed.blobs[pushed.blobs.length - 1]!;
        const { body } = await client.getBlob({ registry: front.host, repository: 'fault/app' }, layer, UNINTERRUPTED);
        assert.equal(sha256(await readAll(body)), layer);
        assert.deepEqual(storageAuth, [undefined]);
      } finally {
        await http.close();
        await front.close();
        await storage.close();
      }
    });

    it('remembers Docker Hub rate-limit headers and falls back to GET when HEAD has no digest', async () => {
      const proxy = await startProxy(registry.url, async (req, body, res, p) => {
        if (!req.url!.includes('/manifests/')) return false;
        const answer = await p.forward(req, body);
        const headers: IncomingMessage['headers'] = { ...answer.headers, 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' };
        if (req.method === 'HEAD') delete headers['docker-content-digest'];
        res.writeHead(answer.status, headers);
        res.end(answer.body);
        return true;
      });
      const { http, client } = clientFor(proxy, registry);
      try {
        assert.equal(client.rateLimit(proxy.host), undefined);
        const head = await client.headManifest({ registry: proxy.host, repository: 'fault/app' }, 'v1', UNINTERRUPTED);
        assert.deepEqual(head, { digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size });
        assert.ok(proxy.requests.includes('GET /v2/fault/app/manifests/v1'), proxy.requests.join('\n'));
        assert.deepEqual(client.rateLimit(proxy.host), { limit: 100, remaining: 76 });
      } finally {
        await http.close();
        await proxy.close();
      }
    });

    it('refuses a Link that loops back to a page already read', async () => {
      const proxy = await startProxy(registry.url, async (req, body, res, p) => {
        if (!req.url!.includes('/tags/list')) return false;
        const answer = await p.forward(req, body);
        res.writeHead(answer.status, { ...answer.headers, link: '</v2/fault/app/tags/list?n=1000>; rel="next"' });
        res.end(answer.body);
        return true;
      });
      const { http, client } = clientFor(proxy, registry);
      try {
        await assert.rejects(client.listTags({ registry: proxy.host, repository: 'fault/app' }, UNINTERRUPTED), (e) => isGcrsyncError(e, 'HOSTILE_RESPONSE') && /loops/.test(e.message));
      } finally {
        await http.close();
        await proxy.close();
      }
    });

    it('names an unreachable registry SOURCE_UNREACHABLE', async () => {
      const proxy = await startProxy(registry.url);
      const host = proxy.host;
      await proxy.close();
      const http = new HttpClient({ retry: { ...fastRetry, retries: 1 } });
      const client = new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/config.json' }) });
      try {
        await assert.rejects(client.ping(host, UNINTERRUPTED), (e) => isGcrsyncError(e, 'SOURCE_UNREACHABLE') && e.message.includes(host));
      } finally {
        await http.close();
      }
    });
  });

  describe('Google listing extension', () => {
    let backend: TestRegistry;
    let pushed: Awaited<ReturnType<typeof pushTestImage>>;
    before(async () => {
      backend = await startRegistry({ auth: 'token', anonymousPull: true });
      pushed = await pushTestImage(backend, 'k8s-artifacts-prod/images/pause', '3.9');
    });
    after(async () => {
      await backend?.stop();
    });

    it('is undefined for a plain registry', async () => {
      const { http, client } = clientFor(backend, backend);
      try {
        assert.equal(await client.listGoogle(backend.host, 'k8s-artifacts-prod/images/pause', UNINTERRUPTED), undefined);
      } finally {
        await http.close();
      }
    });

    it('follows a registry.k8s.io-style redirect and answers the backend challenge anonymously', async () => {
      // the backend adds Google's fields to what the real registry lists
      const google = await startProxy(backend.url, async (req, body, res, p) => {
        const match = /^\/v2\/(.*?)\/?tags\/list/.exec(req.url!);
        if (req.method !== 'GET' || !match) return false;
        const path = match[1]!.replace(/\/$/, '');
        if (path === 'k8s-artifacts-prod/images') {
          if (!req.headers.authorization) {
            const challenge = await p.forward(req, body, '/v2/k8s-artifacts-prod/images/pause/tags/list');
            res.writeHead(challenge.status, challenge.headers);
            res.end(challenge.body);
            return true;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ child: ['pause'], manifest: {}, name: path, tags: [] }));
          return true;
        }
        const answer = await p.forward(req, body, `/v2/${path}/tags/list`);
        if (answer.status !== 200) {
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
          return true;
        }
        const plain = JSON.parse(answer.body.toString()) as { name: string; tags: string[] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...plain, child: [], manifest: { [pushed.digest]: { mediaType: pushed.mediaType, tag: plain.tags, timeUploadedMs: '1660697581976', imageSizeBytes: '123' } } }));
        return true;
      });
      const front = await startProxy(google.url, (req, _body, res) => {
        res.writeHead(307, { location: `${google.url}${req.url!.replace(/^\/v2\//, '/v2/k8s-artifacts-prod/images/')}` });
        res.end();
        return true;
      });
      // credentials for the front must never reach the backend
      const http = new HttpClient({ retry: fastRetry });
      const keychain = createKeychain({ explicit: { [front.host]: { username: 'front-user', password: 'front-password' } }, dockerConfigPath: '/nonexistent/config.json' });
      const client = new RegistryClient({ http, keychain });
      try {
        const root = await client.listGoogle(front.host, '', UNINTERRUPTED);
        assert.deepEqual(root, { name: 'k8s-artifacts-prod/images', child: ['pause'], tags: [], manifest: {} });
        const leaf = await client.listGoogle(front.host, 'pause', UNINTERRUPTED);
        assert.deepEqual(leaf?.tags, ['3.9']);
        assert.deepEqual(leaf?.manifest[pushed.digest]?.tag, ['3.9']);
        assert.equal(backend.tokenServer!.rejected, 0, 'no credentials were offered to the backend token server');
        assert.ok(backend.tokenServer!.requestCount('repository:k8s-artifacts-prod/images/pause:pull') >= 1);
      } finally {
        await http.close();
        await front.close();
        await google.close();
      }
    });
  });
});

describe('registry client: non-distributable layers from their urls', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let http: HttpClient;
  let client: RegistryClient;
  const layer = randomBytes(2048);
  const digest = sha256(layer);
  before(async () => {
    registry = await startRegistry();
    ({ http, client } = clientFor(registry, registry));
    const pushed = await pushTestImage(registry, 'mcr/base', 'v1', { layerBytes: 1 });
    assert.ok(pushed.blobs.length > 0);
    const upload = await fetch(`${registry.url}/v2/mcr/base/blobs/uploads/`, { method: 'POST' });
    const location = new URL(upload.headers.get('location')!, registry.url);
    location.searchParams.set('digest', digest);
    assert.equal((await fetch(location, { method: 'PUT', body: layer })).status, 201);
  });
  after(async () => {
    await http?.close();
    await registry?.stop();
  });

  it('reads the bytes from the first url that serves them, checked against the digest', async () => {
    const repo = { registry: registry.host, repository: 'ns/win' };
    const urls = ['ftp://mcr.example/x', `${registry.url}/v2/mcr/base/blobs/${sha256(Buffer.from('absent'))}`, `${registry.url}/v2/mcr/base/blobs/${digest}`];
    const blob = await client.getBlobFromUrls(repo, digest, urls, UNINTERRUPTED);
    assert.deepEqual(await readAll(blob.body), layer);
  });

  it('refuses a url on a loopback or private address named by a public registry, and bytes of another digest', async () => {
    const publicRepo = { registry: 'registry.example.com', repository: 'ns/win' };
    await assert.rejects(client.getBlobFromUrls(publicRepo, digest, [`${registry.url}/v2/mcr/base/blobs/${digest}`, 'https://10.0.0.1/blob'], UNINTERRUPTED), (e: unknown) =>
      isGcrsyncError(e, 'HOSTILE_RESPONSE'),
    );
    const other = (await oracleManifest(registry, 'mcr/base', 'v1')).json as { layers: Array<{ digest: string }> };
    const wrong = await client.getBlobFromUrls({ registry: registry.host, repository: 'ns/win' }, digest, [`${registry.url}/v2/mcr/base/blobs/${other.layers[0]!.digest}`], UNINTERRUPTED);
    await assert.rejects(readAll(wrong.body), (e: unknown) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
  });
});
