import assert from 'node:assert/strict';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote, git, type BareRemote } from '../support/git.js';
import { getManifest, hasBlob, headDigest, listTags, MEDIA_TYPES, pushTestImage, registryRequest, type RegistryEndpoint } from '../support/images.js';
import type { TestRegistry } from '../support/registry.js';
import { useSyncScene } from '../support/sync-scene.js';

/** An auth-less test registry as the image helpers address it. */
const plain = (registry: TestRegistry): RegistryEndpoint => ({ url: registry.url });

interface Report {
  outcomes: Array<{ source: string; status: string; error?: string }>;
  problems: Array<{ subject: string; error: string }>;
}

const OVER_LONG = 'a'.repeat(300);
const HOSTILE_CHILDREN = ['../../etc', 'a/../b', '', OVER_LONG, 'ünïcode', 'Upper', 'has space', '.', '..', 'tab\there', 'semi;rm -rf'];
const HOSTILE_TAGS = ['../../etc/passwd', 'x'.repeat(129), 'tag with space', 'ümlaut', '-dash-first', '.hidden', 'a/b', 'new\nline'];

/**
 * Hostile and bad input through the built CLI. Registry answers are untrusted: names outside the grammar are
 * refused with a warning and never reach a path, a ref or the target; broken answers and broken images fail
 * only themselves. Bad command lines exit 2 naming the value and what was expected.
 */
describe('hostile and bad input (CLI, end to end)', function () {
  this.timeout(120_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const repository of ['names/good', 'names/tagged', 'answers/ok', 'answers/huge', 'answers/broken', 'answers/shapeless']) {
        await pushTestImage(upstream, repository, 'v1');
      }
    },
  });

  const env = { DOCKER_CONFIG: '/nonexistent/gcrsync-test' };
  const sync = (namespace: string, remote: BareRemote, prefix: string) =>
    runCli(['sync', '--source', `${scene.source.host}/${namespace}`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, '--json'], { env });
  const manifestInfo = (tags: string[]) => ({ mediaType: MEDIA_TYPES.dockerManifest, tag: tags, timeUploadedMs: '1', timeCreatedMs: '1', imageSizeBytes: '1' });

  it('refuses hostile child and tag names with a warning; they never become paths, refs or pushes', async () => {
    scene.source.inject('/v2/names/tags/list', { body: { child: ['good', 'tagged', ...HOSTILE_CHILDREN], manifest: {}, name: 'names', tags: [] } });
    const tagged = await headDigest(plain(scene.upstream), 'names/tagged', 'v1');
    scene.source.inject('/v2/names/tagged/tags/list', {
      // an empty tag is a registry quirk (src/sources/tag-quirks.ts): dropped quietly rather than refused, never used
      body: { child: [], manifest: { [tagged!]: manifestInfo(['v1', '', ...HOSTILE_TAGS]) }, name: 'names/tagged', tags: ['v1', '', ...HOSTILE_TAGS] },
    });
    const remote = await bareRemote();
    const result = await sync('names', remote, 'names');
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as Report;

    // the good ones are synced
    assert.deepEqual(report.outcomes.map((o) => [o.source.slice(scene.source.host.length + 1), o.status]).sort(), [['names/good:v1', 'synced'], ['names/tagged:v1', 'synced']]);
    // every hostile name is a problem and a warning
    const refusals = report.problems.filter((p) => /HOSTILE_RESPONSE: refused (child|tag)/.test(p.error));
    assert.equal(refusals.length, HOSTILE_CHILDREN.length + HOSTILE_TAGS.length, report.problems.map((p) => p.error).join("\n"));
    assert.equal((result.stderr.match(/refused hostile name/g) ?? []).length, HOSTILE_CHILDREN.length + HOSTILE_TAGS.length);
    // the messages quote the names printably: no raw newline, tab or non-ASCII reaches the log
    for (const line of result.stderr.split('\n')) assert.doesNotMatch(line, /[^\x20-\x7e]/);
    assert.ok(report.problems.some((p) => p.error.includes('"../../etc"')));
    assert.ok(report.problems.some((p) => p.error.includes('"a/../b"')));

    // nothing hostile reached the target, the metadata repo's files or its refs
    const tags = await listTags(plain(scene.target), 'names/tagged');
    assert.deepEqual(tags, ['v1']);
    const files = (await git(remote.path, 'ls-tree', '-r', '--name-only', 'main')).split('\n').sort();
    const namespaceDir = `metadata/${scene.source.host.replace(':', '_')}/`;
    assert.ok(files.includes(`${namespaceDir}names.json`));
    for (const file of files) {
      assert.match(
        file,
        /^(README\.md|CHANGELOG\.md|metadata\/README\.md|metadata\/[a-z0-9._-]+\/names\.(json|md)|site\/(\.gcrsync-files|index\.html|changes\.html|feed\.atom|assets\/(site\.css|site\.js|search\.js)|search\/[0-9a-f]{8}-\d+\.js|r\/[a-z0-9._-]+\/names\/-\/(_index|good|tagged)\.html))$/,
        `unexpected file ${JSON.stringify(file)}`,
      );
    }
    const everything = await git(remote.path, 'log', '--all', '-p');
    for (const name of ['../../etc', 'a/../b', 'ünïcode', 'ümlaut', 'semi;rm', 'has space', 'tag with space', 'dash-first', 'hidden', 'Upper']) {
      assert.ok(!everything.includes(name), `${name} is nowhere in the metadata repo`);
    }
    assert.equal((await git(remote.path, 'for-each-ref', '--format=%(refname)')).trim(), 'refs/heads/main');
    const json = JSON.parse(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/names.json`));
    assert.deepEqual(json.images, { good: { v1: json.images.good.v1 }, tagged: { v1: json.images.tagged.v1 } });
  });

  it('oversized, malformed or misshapen listing answers fail only their repository', async () => {
    scene.source.inject('/v2/answers/huge/tags/list', { body: `{"child":[],"manifest":{},"name":"answers/huge","tags":["${'v'.repeat(17 * 1024 * 1024)}"]}` });
    scene.source.inject('/v2/answers/broken/tags/list', { body: '{"child": [], "manifest": {"sha256:' });
    scene.source.inject('/v2/answers/shapeless/tags/list', { body: { child: 'not-a-list', manifest: 7, name: 42, tags: {} } });
    const remote = await bareRemote();
    const result = await sync('answers', remote, 'answers');
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.deepEqual(report.outcomes.map((o) => [o.source.slice(scene.source.host.length + 1), o.status]), [['answers/ok:v1', 'synced']]);
    const problem = (subject: string) => report.problems.find((p) => p.subject === subject)?.error ?? '';
    assert.match(problem('answers/huge'), /HOSTILE_RESPONSE.*more than \d+ bytes/);
    assert.match(problem('answers/broken'), /HOSTILE_RESPONSE.*not JSON/);
    assert.match(problem('answers/shapeless'), /HOSTILE_RESPONSE/);
    assert.equal(await headDigest(plain(scene.target), 'answers/ok', 'v1'), await headDigest(plain(scene.upstream), 'answers/ok', 'v1'));
  });

  describe('broken images at the source', () => {
    const blobFile = (digest: string) => join(scene.upstream.storageDir, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');

    it('a manifest naming a missing blob, a blob whose bytes do not match its digest, and a size mismatch each fail only that image', async () => {
      const namespace = 'broken';
      await pushTestImage(plain(scene.upstream), `${namespace}/fine`, 'v1');
      // missing: the repository no longer links the layer (a garbage-collected blob)
      await pushTestImage(plain(scene.upstream), `${namespace}/missing`, 'v1', { layerBytes: 4096 });
      const missingLayer = ((await getManifest(plain(scene.upstream), `${namespace}/missing`, 'v1')).json as { layers: Array<{ digest: string }> }).layers[0]!.digest;
      await unlink(join(scene.upstream.storageDir, `docker/registry/v2/repositories/${namespace}/missing/_layers/sha256`, missingLayer.slice(7), 'link'));
      // corrupt: same length, other bytes (bit rot, or a tampering mirror)
      await pushTestImage(plain(scene.upstream), `${namespace}/corrupt`, 'v1', { layerBytes: 4096 });
      const corruptLayer = ((await getManifest(plain(scene.upstream), `${namespace}/corrupt`, 'v1')).json as { layers: Array<{ digest: string }> }).layers[0]!.digest;
      const bytes = await readFile(blobFile(corruptLayer));
      bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
      await writeFile(blobFile(corruptLayer), bytes);
      // size: the manifest claims one byte more than the blob has
      await pushTestImage(plain(scene.upstream), `${namespace}/size`, 'seed', { layerBytes: 4096 });
      const sized = (await getManifest(plain(scene.upstream), `${namespace}/size`, 'seed')).json as { layers: Array<{ size: number }> };
      sized.layers[0]!.size += 1;
      const put = await registryRequest(plain(scene.upstream), `repository:${namespace}/size:pull,push`, `/v2/${namespace}/size/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': MEDIA_TYPES.dockerManifest },
        body: JSON.stringify(sized),
      });
      assert.equal(put.status, 201, await put.text());

      const remote = await bareRemote();
      const result = await sync(namespace, remote, namespace);
      assert.equal(result.code, 1, result.stderr);
      const report = JSON.parse(result.stdout) as Report;
      const outcome = (name: string) => report.outcomes.find((o) => o.source === `${scene.source.host}/${namespace}/${name}`);
      assert.equal(outcome('fine:v1')?.status, 'synced');
      assert.equal(outcome('size:seed')?.status, 'synced');
      assert.equal(outcome('missing:v1')?.status, 'failed');
      assert.match(outcome('missing:v1')!.error!, /NOT_FOUND.*blob.*missing/i);
      assert.equal(outcome('corrupt:v1')?.status, 'failed');
      assert.match(outcome('corrupt:v1')!.error!, /DIGEST_MISMATCH.*expected sha256:/);
      assert.equal(outcome('size:v1')?.status, 'failed');
      assert.match(outcome('size:v1')!.error!, /DIGEST_MISMATCH.*\d+ bytes/);

      // nothing of the broken images was published, and no corrupt blob was stored
      for (const name of ['missing', 'corrupt', 'size']) assert.equal(await headDigest(plain(scene.target), `${namespace}/${name}`, 'v1'), undefined, `${name}:v1 not at the target`);
      assert.equal(await hasBlob(plain(scene.target), `${namespace}/corrupt`, corruptLayer), false);
      const recorded = Object.keys(JSON.parse(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/${namespace}.json`)).images).sort();
      assert.deepEqual(recorded, ['fine', 'size']);
    });
  });

  describe('bad command lines exit 2 naming the value and what is expected', () => {
    const base = ['sync', '--source', 'gcr.io/ns', '--target', '127.0.0.1:1/x', '--metadata-repo', '/nonexistent/metadata'];
    const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; says: RegExp[] }> = [
      { name: 'a source outside the reference grammar', args: ['sync', '--source', 'gcr.io/Bad_NS', '--target', 'x.io'], says: [/gcr\.io\/Bad_NS/, /lowercase/] },
      { name: 'a target with white space', args: ['sync', '--source', 'gcr.io/ns', '--target', 'x.io/a b'], says: [/x\.io\/a b/] },
      { name: 'a registry that is not a host', args: ['sync', '--source', 'bad_host:99999/ns', '--target', 'x.io'], says: [/bad_host:99999/, /host/] },
      { name: 'an unknown flag', args: [...base, '--bogus-flag'], says: [/bogus-flag/] },
      { name: 'an unknown command', args: ['mirror-everything'], says: [/mirror-everything/] },
      { name: 'a duration without a unit', args: [...base, '--max-duration', '45'], says: [/"45"/, /500ms, 5s, 2m or 1h/] },
      { name: 'a duration in words', args: [...base, '--max-duration', '45 minutes'], says: [/45 minutes/, /duration/] },
      { name: 'a checkpoint of zero images', args: [...base, '--checkpoint-every', '0'], says: [/"0"/, /checkpoint-every/] },
      { name: 'a shard past the count', args: [...base, '--shard', '4/3'], says: [/"4\/3"/, /K\/N/] },
      { name: 'a shard that is not K/N', args: [...base, '--shard', 'first'], says: [/"first"/, /K\/N/] },
      { name: 'a concurrency of zero', args: [...base, '--concurrency', '0'], says: [/concurrency/, /0/] },
      { name: 'an unknown transport', args: [...base, '--transport', 'ftp'], says: [/ftp/, /registry/] },
      { name: 'no source at all', args: ['sync', '--target', 'x.io'], says: [/source/] },
      { name: 'a username without a password', args: [...base, '--username', 'someone'], says: [/password/] },
    ];
    it('for every case in the table', async () => {
      const results = await Promise.all(cases.map((c) => runCli(c.args, { env: { ...env, ...c.env } })));
      results.forEach((result, i) => {
        const c = cases[i]!;
        assert.equal(result.code, 2, `${c.name}: exit ${result.code}\n${result.stderr}`);
        for (const pattern of c.says) assert.match(result.stderr, pattern, `${c.name}: the message says ${pattern}`);
        assert.equal(result.stdout, '', `${c.name}: nothing on stdout`);
      });
    });
  });
});
