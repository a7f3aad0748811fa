import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { startDockerd } from '../support/dockerd.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote, git } from '../support/git.js';
import { getManifest, hasBlob, headDigest, listTags, MEDIA_TYPES, pushBlobBytes, pushManifestBytes, pushTestImage, registryRequest, tar } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { buildSchema1, pushSchema1Image, SCHEMA1_SIGNED, signSchema1 } from '../support/schema1.js';
import { waitFor } from '../support/temp.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('test harness', function () {
  this.timeout(120_000);
  const registries: TestRegistry[] = [];
  after(async () => {
    await Promise.all(registries.map((r) => r.stop()));
  });
  const start = async (...args: Parameters<typeof startRegistry>) => {
    const registry = await startRegistry(...args);
    registries.push(registry);
    return registry;
  };

  describe('startRegistry', () => {
    it('serves an open registry', async () => {
      const registry = await start();
      const res = await fetch(`${registry.url}/v2/`);
      assert.equal(res.status, 200);
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
    });

    it('requires htpasswd Basic credentials', async () => {
      const registry = await start({ auth: 'htpasswd', users: { alice: 'wonderland' } });
      const anonymous = await fetch(`${registry.url}/v2/`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
      assert.equal((await fetch(`${registry.url}/v2/`, { headers: { authorization: basic('alice', 'nope') } })).status, 401);
      assert.equal((await fetch(`${registry.url}/v2/`, { headers: { authorization: basic('alice', 'wonderland') } })).status, 200);
    });

    it('runs the token flow: 401 without credentials, a signed token with them, and counts requests per scope', async () => {
      const registry = await start({ auth: 'token' });
      const tokens = registry.tokenServer!;
      const challenge = await fetch(`${registry.url}/v2/`);
      assert.equal(challenge.status, 401);
      assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="/);

      const scope = 'repository:harness/token:pull,push';
      const tokenUrl = `${tokens.realm}?service=${tokens.service}&scope=${encodeURIComponent(scope)}`;
      assert.equal((await fetch(tokenUrl, { headers: { authorization: basic('tester', 'wrong') } })).status, 401);
      const res = await fetch(tokenUrl, { headers: { authorization: basic(registry.credentials!.username, registry.credentials!.password) } });
      assert.equal(res.status, 200);
      const { token } = (await res.json()) as { token: string };
      assert.equal(tokens.requestCount(scope), 2);

      const ping = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ping.status, 200);
      const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      assert.equal((await fetch(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${forged}` } })).status, 401);
    });

    it('token mode: an anonymous token grants nothing and the deny list drops actions', async () => {
      const registry = await start({ auth: 'token' });
      const tokens = registry.tokenServer!;
      const anonymous = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:harness/anon:pull`);
      const { token } = (await anonymous.json()) as { token: string };
      const tags = await fetch(`${registry.url}/v2/harness/anon/tags/list`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(tags.status, 401);

      tokens.deny.add('repository:harness/denied:push');
      await assert.rejects(pushTestImage(registry, 'harness/denied', 'v1'), /HTTP 401/);
      await pushTestImage(registry, 'harness/allowed', 'v1');
      assert.deepEqual(await listTags(registry, 'harness/allowed'), ['v1']);
    });
  });

  describe('pushTestImage', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await start({ auth: 'htpasswd' });
    });

    it('writes a valid tar that extracts to the files it was given', () => {
      const archive = tar([{ name: 'a.txt', content: Buffer.from('hello\n') }]);
      assert.equal(archive.length, 512 + 512 + 1024);
      assert.equal(archive.subarray(0, 5).toString(), 'a.txt');
      assert.equal(archive.subarray(512, 518).toString(), 'hello\n');
    });

    it('pushes a Docker image whose digest, manifest and blobs the registry confirms', async () => {
      const pushed = await pushTestImage(registry, 'harness/single', 'v1', { layerBytes: 4096 });
      assert.equal(pushed.mediaType, MEDIA_TYPES.dockerManifest);
      assert.equal(await headDigest(registry, 'harness/single', 'v1'), pushed.digest);
      const manifest = await getManifest(registry, 'harness/single', 'v1');
      assert.equal(manifest.digest, pushed.digest);
      assert.equal(manifest.mediaType, MEDIA_TYPES.dockerManifest);
      for (const blob of pushed.blobs) assert.ok(await hasBlob(registry, 'harness/single', blob), blob);

      const layer = (manifest.json as { layers: Array<{ digest: string }> }).layers[0]!;
      const res = await registryRequest(registry, 'repository:harness/single:pull', `/v2/harness/single/blobs/${layer.digest}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(bytes), layer.digest);
      assert.ok(gunzipSync(bytes).length >= 4096);
    });

    it('pushes an OCI index with one child per platform and shares a base layer between images', async () => {
      const pushed = await pushTestImage(registry, 'harness/multi', 'v1', {
        platforms: ['linux/amd64', 'linux/arm64/v8'],
        format: 'oci',
        sharedLayer: 'base',
      });
      const other = await pushTestImage(registry, 'harness/other', 'v1', { sharedLayer: 'base', format: 'oci' });
      assert.equal(pushed.mediaType, MEDIA_TYPES.ociIndex);
      assert.equal(await headDigest(registry, 'harness/multi', 'v1'), pushed.digest);
      assert.equal(pushed.children?.length, 2);
      for (const child of pushed.children!) assert.equal(await headDigest(registry, 'harness/multi', child), child);
      const index = (await getManifest(registry, 'harness/multi', 'v1')).json as { manifests: Array<{ platform: { architecture: string; variant?: string } }> };
      assert.deepEqual(index.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64']);
      assert.equal(index.manifests[1]!.platform.variant, 'v8');
      assert.ok(other.blobs.some((blob) => pushed.blobs.includes(blob)), 'the shared base layer has one digest');
      assert.notEqual(other.digest, pushed.children![0]);
    });

    it('is deterministic per seed and different across seeds', async () => {
      const a = await pushTestImage(registry, 'harness/seeded', 'a', { seed: 7 });
      const b = await pushTestImage(registry, 'harness/seeded', 'b', { seed: 7 });
      const c = await pushTestImage(registry, 'harness/seeded', 'c', { seed: 8 });
      assert.equal(a.digest, b.digest);
      assert.notEqual(a.digest, c.digest);
      assert.deepEqual(await listTags(registry, 'harness/seeded'), ['a', 'b', 'c']);
      assert.equal(await headDigest(registry, 'harness/seeded', 'missing'), undefined);
    });
  });

  describe('schema1 images', () => {
    const steps = [{ files: [{ name: 'hello', content: Buffer.from('hi\n') }], command: '/bin/sh -c #(nop) ADD file:1 in /' }];

    it('are stored by a schema1-enabled registry when libtrust-signed, under the digest of the unsigned payload', async () => {
      const registry = await start({ schema1: true });
      const image = await pushSchema1Image(registry, 'legacy/app', '1.0', steps);
      const res = await fetch(`${registry.url}/v2/legacy/app/manifests/1.0`);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.headers.get('content-type'), SCHEMA1_SIGNED);
      assert.equal(res.headers.get('docker-content-digest'), image.digest);
      assert.equal(sha256(buildSchema1('legacy/app', '1.0', steps).payload), image.digest);
      assert.match(body.toString('utf8'), /"signatures": \[/);
    });

    it('are refused unsigned, with a kid that is not the key\'s, or by a registry without schema1', async () => {
      const registry = await start({ schema1: true });
      const { payload, layers } = buildSchema1('legacy/app', '2.0', steps);
      for (const layer of layers) await pushBlobBytes(registry, 'legacy/app', layer.bytes);
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const wrongKid = 'ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP';
      for (const bytes of [payload, signSchema1(payload, { key, kid: wrongKid })]) {
        await assert.rejects(pushManifestBytes(registry, 'legacy/app', '2.0', bytes, SCHEMA1_SIGNED), /HTTP 400 .*MANIFEST_INVALID/);
      }
      await pushManifestBytes(registry, 'legacy/app', '2.0', signSchema1(payload, { key }), SCHEMA1_SIGNED);
      const strict = await start();
      for (const layer of layers) await pushBlobBytes(strict, 'legacy/app', layer.bytes);
      // distribution 2.8 without compatibility.schema1 answers an unsupported-manifest error as a 500
      await assert.rejects(pushManifestBytes(strict, 'legacy/app', '2.0', signSchema1(payload, { key }), SCHEMA1_SIGNED), /HTTP 500/);
      // the registry logs why after it answered
      await waitFor(async () => /manifest schema v1 unsupported/.test(strict.log()), 10_000, () => `no schema1 refusal in the log:\n${strict.log().slice(-2000)}`);
    });
  });

  describe('gcrFront', () => {
    let registry: TestRegistry;
    let front: GcrFront;
    let leaf: Awaited<ReturnType<typeof pushTestImage>>;
    let index: Awaited<ReturnType<typeof pushTestImage>>;
    before(async () => {
      registry = await start({ auth: 'token' });
      const endpoint = registry;
      leaf = await pushTestImage(endpoint, 'proj/app', 'v1');
      await pushTestImage(endpoint, 'proj/app', 'latest', { seed: 'proj/app:v1' });
      index = await pushTestImage(endpoint, 'proj/app/sub', 'v2', { platforms: ['linux/amd64', 'linux/arm64'] });
      await pushTestImage(endpoint, 'proj/deep/er/leaf', 'v1');
      front = await gcrFront(endpoint);
    });
    after(() => front.stop());

    const list = async (path: string) => {
      const res = await fetch(`${front.url}/v2/${path}tags/list`);
      return { status: res.status, body: (await res.json()) as { child: string[]; manifest: Record<string, { tag: string[]; mediaType: string; imageSizeBytes: string; timeUploadedMs: string }>; name: string; tags: string[] } };
    };

    it('lists direct children at the root and at intermediate paths without images', async () => {
      assert.deepEqual((await list('')).body, { child: ['proj'], manifest: {}, name: '', tags: [] });
      assert.deepEqual((await list('proj/')).body, { child: ['app', 'deep'], manifest: {}, name: 'proj', tags: [] });
      assert.deepEqual((await list('proj/deep/')).body.child, ['er']);
      assert.equal((await list('proj/none/')).status, 404);
    });

    it('answers a path that is both a repository and a parent with its manifest map', async () => {
      const { body } = await list('proj/app/');
      assert.deepEqual(body.child, ['sub']);
      assert.deepEqual(body.tags, ['latest', 'v1']);
      assert.deepEqual(Object.keys(body.manifest), [leaf.digest]);
      const info = body.manifest[leaf.digest]!;
      assert.deepEqual(info.tag.sort(), ['latest', 'v1']);
      assert.equal(info.mediaType, MEDIA_TYPES.dockerManifest);
      assert.match(info.timeUploadedMs, /^\d+$/);
      assert.ok(Number(info.imageSizeBytes) > 0);
    });

    it('includes untagged index children in the manifest map', async () => {
      const { body } = await list('proj/app/sub/');
      assert.deepEqual(Object.keys(body.manifest).sort(), [index.digest, ...index.children!].sort());
      assert.deepEqual(body.manifest[index.digest]!.tag, ['v2']);
      for (const child of index.children!) assert.deepEqual(body.manifest[child]!.tag, []);
    });

    it('proxies the rest of the API, serves injected answers and logs requests', async () => {
      const endpoint = { url: front.url, credentials: registry.credentials! };
      assert.equal(await headDigest(endpoint, 'proj/app', 'v1'), leaf.digest);
      const pushed = await pushTestImage(endpoint, 'proj/through-front', 'v1');
      assert.equal(await headDigest(registry, 'proj/through-front', 'v1'), pushed.digest);
      front.inject('/v2/evil/tags/list', { body: { child: ['../../etc'], manifest: {}, name: 'evil', tags: [] } });
      assert.deepEqual((await list('evil/')).body.child, ['../../etc']);
      assert.ok(front.requests.includes('HEAD /v2/proj/app/manifests/v1'));
      assert.ok(front.requests.some((r) => r.startsWith('PUT /v2/proj/through-front/blobs/uploads/')));
    });
  });

  describe('bareRemote', () => {
    it('has main with a README, or nothing when empty', async () => {
      const remote = await bareRemote();
      const empty = await bareRemote({ empty: true });
      try {
        assert.match((await remote.head())!, /^[0-9a-f]{40}$/);
        assert.match(await remote.show('README.md'), /gcrsync/);
        assert.equal(await empty.head(), undefined);
        assert.equal(await git(remote.path, 'rev-list', '--count', 'main'), '1');
      } finally {
        await remote.cleanup();
        await empty.cleanup();
      }
    });
  });

  describe('startDockerd', () => {
    it('pulls from a local htpasswd registry over plain http', async () => {
      const registry = await start({ auth: 'htpasswd' });
      const pushed = await pushTestImage(registry, 'harness/pull-me', 'v1');
      const { docker } = await startDockerd();
      assert.equal(await startDockerd().then((d) => d.docker), docker, 'one daemon per run');
      const name = `${registry.host}/harness/pull-me:v1`;
      const stream = await docker.pull(name, { authconfig: { ...registry.credentials!, serveraddress: registry.host } });
      const events = await new Promise<Array<{ error?: string }>>((resolve, reject) =>
        docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => (error ? reject(error) : resolve(output))),
      );
      assert.deepEqual(events.filter((e) => e.error), []);
      const image = await docker.getImage(name).inspect();
      assert.deepEqual(image.RepoDigests, [`${registry.host}/harness/pull-me@${pushed.digest}`]);
      await docker.getImage(name).remove();
    });
  });
});
