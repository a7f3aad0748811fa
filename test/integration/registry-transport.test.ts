import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { Transform } from 'node:stream';
import { createKeychain } from '../../src/auth/keychain.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { createRegistryTransport, type RegistryTransport } from '../../src/transports/registry.js';
import type { CopyRequest } from '../../src/transports/transport.js';
import { MEDIA_TYPES, getManifest, hasBlob, headDigest, pushTestImage, type PushedImage, type PushOptions, type RegistryEndpoint } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// ---------- a small HTTP proxy in front of a real registry: logs requests, corrupts or stalls blob answers ----------

interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface CannedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface RegistryProxy {
  /** `127.0.0.1:PORT`: use it as the registry of references */
  host: string;
  requests: SeenRequest[];
  /** blob digests whose GET answers get one byte flipped (same length, wrong content) */
  corrupt: Set<string>;
  /** blob digests whose GET answers send one byte and then nothing more */
  stall: Set<string>;
  /** answers served instead of the registry's (e.g. a schema1 manifest distribution would not store) */
  answer?: (request: SeenRequest) => CannedAnswer | undefined;
  /** answer manifest PUTs without Docker-Content-Digest, as some registries do */
  withoutPutDigest?: boolean;
  stop(): Promise<void>;
}

function flipOneByte(): Transform {
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (flipped || chunk.length === 0) return callback(null, chunk);
      flipped = true;
      const copy = Buffer.from(chunk);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
      callback(null, copy);
    },
  });
}

async function startProxy(upstream: TestRegistry): Promise<RegistryProxy> {
  const target = new URL(upstream.url);
  const proxy: Omit<RegistryProxy, 'host' | 'stop'> = { requests: [], corrupt: new Set(), stall: new Set() };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
    proxy.requests.push(seen);
    const canned = proxy.answer?.(seen);
    if (canned) {
      req.resume();
      res.writeHead(canned.status, { ...canned.headers, 'content-length': String(canned.body.length) });
      res.end(seen.method === 'HEAD' ? undefined : canned.body);
      return;
    }
    const blob = seen.method === 'GET' ? /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(seen.path)?.[1] : undefined;
    // the Host header goes through unchanged, so the registry's Location headers point back at the proxy
    const forward = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer: IncomingMessage) => {
        const headers = { ...answer.headers };
        if (proxy.withoutPutDigest && seen.method === 'PUT' && seen.path.includes('/manifests/')) delete headers['docker-content-digest'];
        res.writeHead(answer.statusCode ?? 502, headers);
        if (blob !== undefined && proxy.stall.has(blob)) {
          answer.once('data', (chunk: Buffer) => {
            res.write(chunk.subarray(0, 1));
            answer.destroy();
          });
          return;
        }
        if (blob !== undefined && proxy.corrupt.has(blob)) answer.pipe(flipOneByte()).pipe(res);
        else answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return Object.assign(proxy, {
    host: `127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const isUploadRequest = (r: SeenRequest) => r.path.includes('/blobs/uploads/') && ['POST', 'PATCH', 'PUT'].includes(r.method);
/** requests that finished an upload of `digest` (the closing PUT ?digest=) */
const committedUploads = (requests: SeenRequest[], digest: string) =>
  requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.query.get('digest') === digest).length;

function expectCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    if (isGcrsyncError(error) && error.code === code) return true;
    throw error;
  };
}

describe('registry transport against real registries', function () {
  this.timeout(120_000);
  let source: TestRegistry;
  let target: TestRegistry;
  let sourceProxy: RegistryProxy;
  let targetProxy: RegistryProxy;
  let sourceEndpoint: RegistryEndpoint;
  let targetEndpoint: RegistryEndpoint;
  let http: HttpClient;
  let client: RegistryClient;
  const transports: RegistryTransport[] = [];

  const transport = (options: Omit<Parameters<typeof createRegistryTransport>[0], 'client'> = {}) => {
    const t = createRegistryTransport({ client, ...options });
    transports.push(t);
    return t;
  };

  /** a copy request from the source (through its proxy) to the target (through its proxy) */
  const request = (image: PushedImage, repository: string, tag: string, to: { repository?: string; tag?: string; registry?: string } = {}): CopyRequest => ({
    source: { registry: sourceProxy.host, repository, tag },
    sourceDigest: image.digest,
    sourceMediaType: image.mediaType,
    target: { registry: to.registry ?? targetProxy.host, repository: to.repository ?? repository, tag: to.tag ?? tag },
  });

  const push = (repository: string, tag: string, options: PushOptions = {}) => pushTestImage(sourceEndpoint, repository, tag, options);

  before(async () => {
    [source, target] = await Promise.all([startRegistry(), startRegistry()]);
    [sourceProxy, targetProxy] = await Promise.all([startProxy(source), startProxy(target)]);
    sourceEndpoint = { url: source.url };
    targetEndpoint = { url: target.url };
    http = new HttpClient({ retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 } });
    client = new RegistryClient({ http, keychain: { resolve: async () => undefined } });
  });

  after(async () => {
    for (const t of transports) await t.close();
    await http?.close();
    await sourceProxy?.stop();
    await targetProxy?.stop();
  });

  describe('keeps the source digest', () => {
    const cases: Array<{ name: string; repository: string; options: PushOptions }> = [
      { name: 'a Docker schema2 image', repository: 'kinds/schema2', options: { format: 'docker' } },
      { name: 'a Docker manifest list', repository: 'kinds/docker-list', options: { format: 'docker', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], sharedLayer: 'kinds' } },
      { name: 'an OCI image manifest', repository: 'kinds/oci-manifest', options: { format: 'oci', platforms: ['linux/arm64'] } },
      { name: 'an OCI index', repository: 'kinds/oci-index', options: { format: 'oci', platforms: ['linux/amd64', 'linux/s390x'], sharedLayer: 'kinds' } },
      { name: 'an image in a nested repository', repository: 'kinds/deeply/nested/path/app', options: { format: 'docker' } },
    ];
    for (const c of cases) {
      it(`for ${c.name}`, async () => {
        const pushed = await push(c.repository, 'v1', c.options);
        const result = await transport().copy(request(pushed, c.repository, 'v1'), UNINTERRUPTED);
        assert.equal(result.targetDigest, pushed.digest);
        assert.equal(result.confirmed, true, "the registry's answer to the PUT named the digest");
        assert.equal(result.digestPreserved, true);
        assert.deepEqual(result.platforms, pushed.platforms);
        assert.deepEqual(result.warnings, []);
        assert.equal(await headDigest(targetEndpoint, c.repository, 'v1'), pushed.digest);
        const [from, to] = await Promise.all([getManifest(sourceEndpoint, c.repository, 'v1'), getManifest(targetEndpoint, c.repository, 'v1')]);
        assert.equal(to.mediaType, from.mediaType);
        assert.ok(to.bytes.equals(from.bytes), 'the target holds the exact source bytes');
        for (const childDigest of pushed.children ?? []) assert.equal(await headDigest(targetEndpoint, c.repository, childDigest), childDigest);
        for (const blob of pushed.blobs) assert.ok(await hasBlob(targetEndpoint, c.repository, blob), `blob ${blob} at the target`);
        assert.ok(result.bytesUploaded >= pushed.totalBytes, `bytesUploaded ${result.bytesUploaded} covers ${pushed.totalBytes}`);
      });
    }
  });

  it('says the copy is unconfirmed when the registry answers the PUT without the digest (a HEAD then verifies it)', async () => {
    const pushed = await push('unconfirmed/app', 'v1', { format: 'docker' });
    targetProxy.withoutPutDigest = true;
    try {
      const result = await transport().copy(request(pushed, 'unconfirmed/app', 'v1'), UNINTERRUPTED);
      assert.equal(result.targetDigest, pushed.digest);
      assert.equal(result.confirmed, false);
    } finally {
      targetProxy.withoutPutDigest = false;
    }
    assert.equal(await headDigest(targetEndpoint, 'unconfirmed/app', 'v1'), pushed.digest);
  });

  it('copies again cheaply: an image already at the target costs no blob upload, only the tag', async () => {
    const pushed = await push('again/app', 'v1', { platforms: ['linux/amd64', 'linux/arm64'], layerBytes: 50_000 });
    const first = transport();
    await first.copy(request(pushed, 'again/app', 'v1'), UNINTERRUPTED);
    assert.equal(first.stats().blobsUploaded, pushed.blobs.length);

    // a new run (nothing remembered) copying the same image, and the same image under another tag
    const second = transport();
    const before = targetProxy.requests.length;
    const same = await second.copy(request(pushed, 'again/app', 'v1'), UNINTERRUPTED);
    const retag = await second.copy(request(pushed, 'again/app', 'v1', { tag: 'stable' }), UNINTERRUPTED);
    const during = targetProxy.requests.slice(before);
    assert.equal(during.filter(isUploadRequest).length, 0, 'no blob upload or mount requests');
    assert.deepEqual(second.stats(), { blobsUploaded: 0, blobsMounted: 0, blobsSkipped: 0, blobBytesUploaded: 0, manifestsPut: 2, bytesUploaded: 2 * pushed.size });
    for (const result of [same, retag]) {
      assert.equal(result.targetDigest, pushed.digest);
      assert.deepEqual(result.platforms, ['linux/amd64', 'linux/arm64']);
    }
    assert.equal(await headDigest(targetEndpoint, 'again/app', 'stable'), pushed.digest);
  });

  describe('requests per image (counted at the proxies)', () => {
    const kindOf = (path: string) =>
      /\/manifests\//.test(path) ? 'manifest' : /\/blobs\/uploads\//.test(path) ? 'upload' : /\/blobs\//.test(path) ? 'blob' : /\/tags\/list$/.test(path) ? 'tags' : /\/referrers\//.test(path) ? 'referrers' : path;
    const kinds = (requests: SeenRequest[]) => requests.map((r) => `${r.method} ${kindOf(r.path)}`);
    const count = (requests: SeenRequest[]) => {
      const out: Record<string, number> = {};
      for (const kind of kinds(requests)) out[kind] = (out[kind] ?? 0) + 1;
      return out;
    };

    it('first copy: one manifest GET by tag at the source, each blob read once, and no config read back after the PUT', async () => {
      const pushed = await push('count/first', 'v1', { layerBytes: 20_000, sharedLayer: 'count-first' });
      const [s, t] = [sourceProxy.requests.length, targetProxy.requests.length];
      const result = await transport().copy(request(pushed, 'count/first', 'v1'), UNINTERRUPTED);
      assert.equal(result.targetDigest, pushed.digest);
      assert.deepEqual(result.platforms, ['linux/amd64'], 'the platform comes from the config read on its way to the target');
      const blobs = pushed.blobs.length;
      // source: the manifest by tag (no HEAD before it), then every blob once (the config among them), and whether it
      // serves the referrers API (distribution 2.8 does not: asked once per run, see the next tests)
      assert.deepEqual(count(sourceProxy.requests.slice(s)), { 'GET manifest': 1, 'GET blob': blobs, 'GET referrers': 1 });
      assert.equal(sourceProxy.requests[s]!.path, '/v2/count/first/manifests/v1');
      // target: does the repository hold anything yet (it does not: no manifest HEAD); per blob one POST (a mount
      // probe that opens the session) and one PUT; the manifest
      assert.deepEqual(count(targetProxy.requests.slice(t)), { 'GET tags': 1, 'POST upload': blobs, 'PUT upload': blobs, 'PUT manifest': 1 });
      for (const blob of pushed.blobs) assert.ok(await hasBlob(targetEndpoint, 'count/first', blob));
      assert.equal(await headDigest(targetEndpoint, 'count/first', 'v1'), pushed.digest);
    });

    it('an index: each child copied once, with no existence check per child', async () => {
      const pushed = await push('count/index', 'v1', { platforms: ['linux/amd64', 'linux/arm64'], sharedLayer: 'count-index' });
      const t = targetProxy.requests.length;
      const result = await transport().copy(request(pushed, 'count/index', 'v1'), UNINTERRUPTED);
      assert.equal(result.targetDigest, pushed.digest);
      const counted = count(targetProxy.requests.slice(t));
      assert.equal(counted['HEAD manifest'], undefined, 'a new repository: nothing to look up');
      assert.equal(counted['PUT manifest'], 3, 'two children and the index');
      assert.equal(counted['GET manifest'], undefined);
      for (const child of pushed.children!) assert.equal(await headDigest(targetEndpoint, 'count/index', child), child);
    });

    it('an image already at the target under another tag: the tag is PUT from the source bytes, no manifest GET at the target', async () => {
      const pushed = await push('count/retag', 'v1', { platforms: ['linux/amd64', 'linux/arm64'] });
      await transport().copy(request(pushed, 'count/retag', 'v1'), UNINTERRUPTED);
      const t = targetProxy.requests.length;
      const result = await transport().copy(request(pushed, 'count/retag', 'v1', { tag: 'stable' }), UNINTERRUPTED);
      assert.equal(result.targetDigest, pushed.digest);
      assert.deepEqual(result.platforms, ['linux/amd64', 'linux/arm64']);
      assert.deepEqual(count(targetProxy.requests.slice(t)), { 'GET tags': 1, 'HEAD manifest': 1, 'PUT manifest': 1 });
      assert.equal(await headDigest(targetEndpoint, 'count/retag', 'stable'), pushed.digest);
    });

    it('many tags into one new repository: one tag listing for all of them, and a retag in the same run is only a PUT', async () => {
      const images = [];
      for (const tag of ['v1', 'v2', 'v3']) images.push(await push('count/many', tag, { sharedLayer: 'count-many' }));
      const [s, t] = [sourceProxy.requests.length, targetProxy.requests.length];
      const run = transport();
      for (const [i, tag] of ['v1', 'v2', 'v3'].entries()) await run.copy(request(images[i]!, 'count/many', tag), UNINTERRUPTED);
      const retag = await run.copy(request(images[0]!, 'count/many', 'v1', { tag: 'latest' }), UNINTERRUPTED);
      assert.equal(retag.targetDigest, images[0]!.digest);
      const counted = count(targetProxy.requests.slice(t));
      assert.equal(counted['GET tags'], 1);
      assert.equal(counted['HEAD manifest'], undefined);
      assert.equal(counted['PUT manifest'], 4);
      assert.equal(count(sourceProxy.requests.slice(s))['GET referrers'], 1, 'a source repository without the referrers API is asked once per run');
      assert.equal(await headDigest(targetEndpoint, 'count/many', 'latest'), images[0]!.digest);
    });

    it('a blob the target repository got in an earlier run: one mount probe finds it, and nothing is uploaded', async () => {
      const sharedLayer = Buffer.alloc(120_000, 9);
      const one = await push('count/earlier', 'v1', { sharedLayer });
      await transport().copy(request(one, 'count/earlier', 'v1'), UNINTERRUPTED);
      const two = await push('count/earlier', 'v2', { sharedLayer });
      const shared = two.blobs.find((blob) => one.blobs.includes(blob))!;
      assert.ok(shared, 'both images have the shared layer');
      const [s, t] = [sourceProxy.requests.length, targetProxy.requests.length];
      const later = transport();
      await later.copy(request(two, 'count/earlier', 'v2'), UNINTERRUPTED);
      const targetRequests = targetProxy.requests.slice(t);
      assert.equal(committedUploads(targetRequests, shared), 0, 'the shared layer was not uploaded again');
      const probes = targetRequests.filter((r) => r.method === 'POST' && r.query.get('mount') === shared);
      assert.equal(probes.length, 1);
      assert.equal(probes[0]!.query.get('from'), 'count/earlier', 'probed in the repository itself');
      assert.equal(sourceProxy.requests.slice(s).filter((r) => r.path.endsWith(`/blobs/${shared}`)).length, 0, 'nor read from the source');
      assert.equal(later.stats().blobsSkipped, 1);
      assert.equal(await headDigest(targetEndpoint, 'count/earlier', 'v2'), two.digest);
    });
  });

  it('sends a blob shared by many repositories once, then mounts it, even when the copies run at once', async () => {
    const repositories = ['shared/a', 'shared/b', 'shared/c', 'shared/d', 'shared/e', 'shared/f'];
    const sharedLayer = Buffer.alloc(300_000, 7);
    const images = await Promise.all(repositories.map((repository) => push(repository, 'v1', { sharedLayer })));
    const sharedDigest = images[0]!.blobs[1]!;
    for (const image of images) assert.equal(image.blobs[1], sharedDigest, 'every image has the shared layer');

    const sourceBefore = sourceProxy.requests.length;
    const targetBefore = targetProxy.requests.length;
    const t = transport({ blobConcurrency: 4 });
    const results = await Promise.all(repositories.map((repository, i) => t.copy(request(images[i]!, repository, 'v1'), UNINTERRUPTED)));

    const sourceGets = sourceProxy.requests.slice(sourceBefore).filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${sharedDigest}`));
    const targetRequests = targetProxy.requests.slice(targetBefore);
    assert.equal(sourceGets.length, 1, 'the shared blob is read from the source once');
    assert.equal(committedUploads(targetRequests, sharedDigest), 1, 'the shared blob is uploaded to the target once');
    const mounts = targetRequests.filter((r) => r.method === 'POST' && r.query.get('mount') === sharedDigest);
    // the first repository's POST probes itself (and opens the upload), every other one mounts from a holder
    assert.equal(mounts.filter((r) => !r.path.startsWith(`/v2/${r.query.get('from')}/`)).length, repositories.length - 1);
    assert.equal(mounts.length, repositories.length);
    const stats = t.stats();
    // per image: its config and own layer are uploaded; the shared layer once, mounted into the five others
    assert.equal(stats.blobsUploaded, repositories.length * 2 + 1);
    assert.equal(stats.blobsMounted, repositories.length - 1);
    assert.equal(stats.manifestsPut, repositories.length);
    for (const [i, repository] of repositories.entries()) {
      assert.equal(results[i]!.targetDigest, images[i]!.digest);
      assert.equal(await headDigest(targetEndpoint, repository, 'v1'), images[i]!.digest);
      assert.ok(await hasBlob(targetEndpoint, repository, sharedDigest));
    }
  });

  it('mounts from the source repository when source and target are the same registry', async () => {
    const pushed = await push('same/origin', 'v1', { platforms: ['linux/amd64', 'linux/arm64'] });
    const t = transport();
    const result = await t.copy(request(pushed, 'same/origin', 'v1', { registry: sourceProxy.host, repository: 'same/copy' }), UNINTERRUPTED);
    assert.equal(result.targetDigest, pushed.digest);
    assert.equal(await headDigest(sourceEndpoint, 'same/copy', 'v1'), pushed.digest);
    const stats = t.stats();
    assert.equal(stats.blobsUploaded, 0);
    assert.equal(stats.blobsMounted, pushed.blobs.length);
  });

  it('refuses a blob corrupted on the way with DIGEST_MISMATCH and pushes no manifest', async () => {
    const pushed = await push('corrupt/app', 'v1', { layerBytes: 100_000 });
    const layer = pushed.blobs.at(-1)!;
    sourceProxy.corrupt.add(layer);
    const before = targetProxy.requests.length;
    try {
      await assert.rejects(transport().copy(request(pushed, 'corrupt/app', 'v1'), UNINTERRUPTED), expectCode('DIGEST_MISMATCH'));
    } finally {
      sourceProxy.corrupt.delete(layer);
    }
    const manifestPuts = targetProxy.requests.slice(before).filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    assert.deepEqual(manifestPuts, []);
    assert.equal(await headDigest(targetEndpoint, 'corrupt/app', 'v1'), undefined);
    assert.equal(await hasBlob(targetEndpoint, 'corrupt/app', layer), false);
  });

  describe('platform filter', () => {
    const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'];

    it('publishes a smaller index with only the wanted platforms', async () => {
      const pushed = await push('filter/app', 'v1', { format: 'oci', platforms });
      const result = await transport({ platforms: ['linux/arm64'] }).copy(request(pushed, 'filter/app', 'v1'), UNINTERRUPTED);
      assert.equal(result.digestPreserved, false);
      assert.notEqual(result.targetDigest, pushed.digest);
      assert.deepEqual(result.platforms, ['linux/arm64']);
      assert.equal(await headDigest(targetEndpoint, 'filter/app', 'v1'), result.targetDigest);
      const index = (await getManifest(targetEndpoint, 'filter/app', 'v1')).json as { manifests: Array<{ digest: string }>; mediaType: string };
      assert.equal(index.mediaType, MEDIA_TYPES.ociIndex);
      assert.deepEqual(index.manifests.map((m) => m.digest), [pushed.children![1]]);
      assert.equal(await headDigest(targetEndpoint, 'filter/app', pushed.children![0]!), undefined, 'dropped platforms are not copied');
    });

    it('takes the platforms of the request over the transport default, and keeps the digest when all match', async () => {
      const pushed = await push('filter/all', 'v1', { platforms });
      const t = transport({ platforms: ['linux/amd64'] });
      const two = await t.copy({ ...request(pushed, 'filter/all', 'v1', { tag: 'two' }), platforms: ['linux/amd64', 'linux/arm'] }, UNINTERRUPTED);
      assert.deepEqual(two.platforms, ['linux/amd64', 'linux/arm/v7']);
      const all = await t.copy({ ...request(pushed, 'filter/all', 'v1'), platforms: platforms }, UNINTERRUPTED);
      assert.equal(all.digestPreserved, true);
      assert.equal(all.targetDigest, pushed.digest);
      assert.equal(await headDigest(targetEndpoint, 'filter/all', 'v1'), pushed.digest);
    });

    it('fails with NO_MATCHING_PLATFORM when no platform matches, leaving the target untouched', async () => {
      const index = await push('filter/none', 'v1', { platforms });
      const single = await push('filter/single', 'v1', { platforms: ['linux/arm64'] });
      const t = transport({ platforms: ['windows/amd64'] });
      await assert.rejects(t.copy(request(index, 'filter/none', 'v1'), UNINTERRUPTED), expectCode('NO_MATCHING_PLATFORM'));
      await assert.rejects(t.copy(request(single, 'filter/single', 'v1'), UNINTERRUPTED), expectCode('NO_MATCHING_PLATFORM'));
      assert.equal(await headDigest(targetEndpoint, 'filter/none', 'v1'), undefined);
      assert.equal(await headDigest(targetEndpoint, 'filter/single', 'v1'), undefined);
      assert.equal(t.stats().blobsUploaded, 0);
    });
  });

  describe('images it cannot copy with their digest', () => {
    const canned: Map<string, { mediaType: string; body: Buffer }> = new Map();
    before(() => {
      sourceProxy.answer = (r) => {
        const match = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(r.path);
        const served = match ? canned.get(match[1]!) : undefined;
        if (!served) return undefined;
        return { status: 200, headers: { 'content-type': served.mediaType, 'docker-content-digest': sha256(served.body) }, body: served.body };
      };
    });
    after(() => {
      delete sourceProxy.answer;
    });

    const fakeImage = (body: Buffer, mediaType: string): PushedImage => ({ digest: sha256(body), mediaType, size: body.length, blobs: [], totalBytes: 0, platforms: [] });

    it('answers a schema1 manifest as not mirrorable, asking nothing of the target', async () => {
      const body = Buffer.from(
        JSON.stringify({ schemaVersion: 1, name: 'legacy/kube', tag: 'v1.4.3', architecture: 'amd64', fsLayers: [{ blobSum: sha256('layer') }], history: [{ v1Compatibility: '{}' }] }, null, 3),
      );
      const mediaType = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
      canned.set('legacy/kube', { mediaType, body });
      const before = targetProxy.requests.length;
      const result = await transport().copy(request(fakeImage(body, mediaType), 'legacy/kube', 'v1.4.3'), UNINTERRUPTED);
      assert.equal(result.notMirrorable, 'schema1');
      assert.equal(result.bytesUploaded, 0);
      assert.deepEqual(targetProxy.requests.slice(before), [], 'nothing was asked of the target');
    });

    it('never asks either registry for the bytes of a foreign (non-distributable) layer', async () => {
      const descriptor = (mediaType: string, seed: string, size: number) => ({ mediaType, size, digest: sha256(seed) });
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.dockerManifest,
          config: descriptor(MEDIA_TYPES.dockerConfig, 'config', 100),
          layers: [
            { ...descriptor('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'base', 1000), urls: ['https://mcr.microsoft.com/v2/x/blobs/y'] },
            descriptor(MEDIA_TYPES.dockerLayer, 'top', 10),
          ],
        }),
      );
      canned.set('windows/servercore', { mediaType: MEDIA_TYPES.dockerManifest, body });
      const [sourceBefore, targetBefore] = [sourceProxy.requests.length, targetProxy.requests.length];
      // the canned manifest's own blobs do not exist: the copy fails on them, never on the foreign layer
      await assert.rejects(transport().copy(request(fakeImage(body, MEDIA_TYPES.dockerManifest), 'windows/servercore', 'ltsc'), UNINTERRUPTED), (error: unknown) => {
        assert.doesNotMatch((error as Error).message, /non-distributable|foreign/);
        return true;
      });
      const asked = [...sourceProxy.requests.slice(sourceBefore), ...targetProxy.requests.slice(targetBefore)].map((r) => r.path);
      assert.ok(asked.some((path) => path.includes(sha256('top')) || path.includes(sha256('config'))), 'the other blobs were asked for');
      assert.ok(!asked.some((path) => path.includes(sha256('base'))), asked.join('\n'));
    });
  });

  describe('abort', () => {
    it('stops a transfer in flight with ABORTED and publishes nothing', async () => {
      const pushed = await push('abort/app', 'v1', { layerBytes: 200_000 });
      const layer = pushed.blobs.at(-1)!;
      sourceProxy.stall.add(layer);
      const controller = new AbortController();
      const started = Date.now();
      try {
        const copying = transport().copy(request(pushed, 'abort/app', 'v1'), controller.signal);
        setTimeout(() => controller.abort(), 300);
        await assert.rejects(copying, expectCode('ABORTED'));
      } finally {
        sourceProxy.stall.delete(layer);
      }
      assert.ok(Date.now() - started < 10_000, 'the stalled stream did not hold the copy up');
      assert.equal(await headDigest(targetEndpoint, 'abort/app', 'v1'), undefined);
    });

    it('does nothing when the signal is already aborted', async () => {
      const pushed = await push('abort/early', 'v1');
      const before = targetProxy.requests.length;
      await assert.rejects(transport().copy(request(pushed, 'abort/early', 'v1'), AbortSignal.abort()), expectCode('ABORTED'));
      assert.deepEqual(targetProxy.requests.slice(before), []);
    });
  });

  it('mounts across repositories of a token-auth target (the token must grant pull on the source repository)', async () => {
    const secured = await startRegistry({ auth: 'token' });
    const keychain = createKeychain({ explicit: { [secured.host]: secured.credentials! }, dockerConfigPath: '/nonexistent/config.json' });
    const securedClient = new RegistryClient({ http, keychain });
    const t = createRegistryTransport({ client: securedClient });
    transports.push(t);
    const sharedLayer = Buffer.alloc(50_000, 3);
    const one = await push('auth/one', 'v1', { sharedLayer });
    const two = await push('auth/two', 'v1', { sharedLayer });
    await t.copy(request(one, 'auth/one', 'v1', { registry: secured.host }), UNINTERRUPTED);
    await t.copy(request(two, 'auth/two', 'v1', { registry: secured.host }), UNINTERRUPTED);
    assert.equal(await headDigest(secured, 'auth/one', 'v1'), one.digest);
    assert.equal(await headDigest(secured, 'auth/two', 'v1'), two.digest);
    assert.equal(t.stats().blobsMounted, 1, 'the shared layer was mounted into the second repository');
    assert.equal(t.stats().blobsUploaded, 5);
  });
});
