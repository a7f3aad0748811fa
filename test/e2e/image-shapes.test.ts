import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { getManifest, hasBlob, headDigest, listTags, pushTestImage, type PushedImage } from '../support/images.js';
import { startRegistry } from '../support/registry.js';
import { pushSchema1Image, type Schema1Image } from '../support/schema1.js';
import { attachSbom, attachSignatures, digestTag, pushArtifact, pushFallbackTag, pushForeignLayerIndex, type Attached, type ForeignIndex, type Subject } from '../support/shapes.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

/** Names in a tar stream (ustar: prefix + name), for what `docker export` wrote. */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    names.push(prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/**
 * The shapes real namespaces hold (issue 12), end to end through the built CLI: one gcr.io-style namespace with a
 * plain image, a libtrust-signed Docker schema1 image, a multi-arch index with a Windows child whose base layer is
 * foreign, a cosign-signed image with an attestation and an OCI 1.1 SBOM served by the referrers API, and an image
 * whose referrer is listed only through the fallback tag. Real registries (distribution 2.8 with schema1 and layer
 * urls enabled) on both sides; the front adds gcr.io's listing and the referrers API for ns/signed.
 */
describe('image shapes (CLI, end to end)', function () {
  this.timeout(240_000);
  let plain: PushedImage;
  let old: Schema1Image;
  let windows: ForeignIndex;
  let signed: Subject;
  let attached: Attached;
  let scanReport: Subject;
  let fallback: Subject;
  let fallbackArtifact: Subject;
  const scene = useSyncScene({
    upstream: { schema1: true, allowLayerUrls: ['^https?://'] },
    target: { allowLayerUrls: ['^https?://'] },
    // one referrer a page: gcrsync follows the Link to the second
    referrersApi: { repositories: ['ns/signed'], pageSize: 1 },
    push: async (upstream) => {
      plain = await pushTestImage(upstream, 'ns/plain', '1.0');
      old = await pushSchema1Image(upstream, 'ns/old', '1.0', [
        { files: [{ name: 'hello', content: Buffer.from('hello from a 2015 image\n') }], command: '/bin/sh -c #(nop) ADD file:0123 in /' },
        { command: '/bin/sh -c #(nop) ENV GREETING=hi' },
        { files: [{ name: 'motd.txt', content: Buffer.from('converted from schema1\n') }], command: '/bin/sh -c #(nop) ADD file:4567 in /motd.txt' },
      ]);
      windows = await pushForeignLayerIndex(upstream, 'ns/win', '3.1');
      const image = await pushTestImage(upstream, 'ns/signed', '1.0');
      signed = { digest: image.digest, mediaType: image.mediaType, size: image.size };
      attached = await attachSignatures(upstream, 'ns/signed', signed);
      scanReport = await pushArtifact(upstream, 'ns/signed', signed, 'a second referrer: the vulnerability scan');
      const other = await pushTestImage(upstream, 'ns/fallback', '1.0');
      fallback = { digest: other.digest, mediaType: other.mediaType, size: other.size };
      const artifact = await pushArtifact(upstream, 'ns/fallback', fallback, 'sbom of the fallback image');
      fallbackArtifact = artifact;
      await pushFallbackTag(upstream, 'ns/fallback', fallback, [artifact]);
    },
  });

  const host = () => scene.source.host.replace(':', '_');
  const args = (remote: BareRemote, prefix: string, extra: string[] = []) => [
    'sync',
    '--source',
    `${scene.source.host}/ns`,
    '--target',
    `${scene.target.host}/${prefix}`,
    '--metadata-repo',
    remote.url,
    ...extra,
  ];

  it('syncs a namespace mixing every shape with exit 0, records each as it is, and a second run is a no-op', async () => {
    const remote = await bareRemote();
    const dry = await runCli(args(remote, 'mixed', ['--dry-run']), {});
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`not-mirrorable +${scene.source.host}/ns/old:1\\.0 ->`));
    assert.match(dry.stdout, /would copy +5/);
    const requestsBefore = scene.source.requests.length;
    const first = await runCli(args(remote, 'mixed', ['--json']), {});
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const report = JSON.parse(first.stdout);
    const status = (repo: string) => report.outcomes.find((o: { source: string }) => o.source === `${scene.source.host}/ns/${repo}:${repo === 'win' ? '3.1' : '1.0'}`);
    assert.equal(status('old').status, 'not-mirrorable');
    assert.equal(status('old').notMirrorable, 'schema1');
    for (const repo of ['plain', 'win', 'signed', 'fallback']) assert.equal(status(repo).status, 'synced', repo);
    assert.equal(report.outcomes.length, 5, 'digest tags are not images of their own');

    // schema1: recorded, not fetched (the listing's manifest map said schema1)
    const json = JSON.parse(await remote.show(`metadata/${host()}/ns.json`));
    assert.deepEqual(Object.keys(json.images).sort(), ['fallback', 'old', 'plain', 'signed', 'win']);
    const oldRecord = json.images.old['1.0'];
    assert.equal(oldRecord.skipped, 'schema1');
    assert.equal(oldRecord.digest, old.digest);
    assert.equal(oldRecord.target, '');
    const asked = scene.source.requests.slice(requestsBefore).filter((line) => line.includes('/v2/ns/old/manifests/') || line.includes('/v2/ns/old/blobs/'));
    assert.deepEqual(asked, [], 'no request for the schema1 image');
    assert.equal(await headDigest(scene.target, 'mixed/old', '1.0'), undefined);

    // foreign layers: the index and both children with their digests; the foreign bytes stay behind their url
    assert.equal(await headDigest(scene.target, 'mixed/win', '3.1'), windows.digest);
    assert.equal(await headDigest(scene.target, 'mixed/win', windows.windows), windows.windows);
    assert.equal(await hasBlob(scene.target, 'mixed/win', windows.foreignLayer), false, 'foreign layer not uploaded');
    assert.deepEqual(json.images.win['3.1'].platforms, ['linux/amd64', 'windows/amd64']);

    // signatures: the digest tags with their digests; the referrer by digest, listed by the target's fallback tag
    assert.equal(await headDigest(scene.target, 'mixed/signed', '1.0'), signed.digest);
    assert.equal(await headDigest(scene.target, 'mixed/signed', digestTag(signed.digest, 'sig')), attached.signature.digest);
    assert.equal(await headDigest(scene.target, 'mixed/signed', digestTag(signed.digest, 'att')), attached.attestation.digest);
    assert.equal(await headDigest(scene.target, 'mixed/signed', attached.artifact.digest), attached.artifact.digest);
    assert.equal(await headDigest(scene.target, 'mixed/signed', scanReport.digest), scanReport.digest);
    const published = (await getManifest(scene.target, 'mixed/signed', digestTag(signed.digest))).json as { manifests: Array<{ digest: string; artifactType?: string }> };
    assert.deepEqual(
      published.manifests.map((m) => [m.digest, m.artifactType]).sort(),
      [attached.artifact.digest, scanReport.digest].sort().map((digest) => [digest, 'application/spdx+json']),
    );
    assert.equal(json.images.signed['1.0'].signatures, 2);
    assert.equal(json.images.signed['1.0'].referrers, 2);
    assert.ok(scene.source.requests.some((line) => line.startsWith(`GET /v2/ns/signed/referrers/${signed.digest}?page=2`)), 'the second page was read');
    // the fallback tag of a source without the referrers API travels byte for byte
    assert.equal(await headDigest(scene.target, 'mixed/fallback', digestTag(fallback.digest)), await headDigest(scene.upstream, 'ns/fallback', digestTag(fallback.digest)));
    assert.equal(await headDigest(scene.target, 'mixed/fallback', fallbackArtifact.digest), fallbackArtifact.digest);
    assert.equal(json.images.fallback['1.0'].referrers, 1);
    assert.equal(json.images.fallback['1.0'].signatures, undefined);
    assert.equal(await headDigest(scene.target, 'mixed/plain', '1.0'), plain.digest);

    const page = await remote.show(`metadata/${host()}/ns.md`);
    assert.match(page, /not mirrorable: schema1/);
    assert.match(page, /\(2 signatures, 2 referrers\)/);
    assert.match(page, /\(1 referrer\)/);
    assert.ok(!page.includes('sha256-'), 'no digest tag listed as an image');

    const head = await remote.head();
    const second = await runCli(args(remote, 'mixed'), {});
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date\s+5/);
    assert.match(second.stdout, /copied\s+0/);
    assert.equal(await remote.head(), head, 'no commit');

    // a signature added to an image already mirrored brings the image's followers over again
    const sbom = await attachSbom(scene.upstream, 'ns/signed', signed);
    const third = await runCli(args(remote, 'mixed', ['--json']), {});
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(
      JSON.parse(third.stdout).planned.map((p: { source: string; reason: string }) => [p.source.split('/ns/')[1], p.reason]),
      [['signed:1.0', 'signatures-changed']],
    );
    assert.equal(await headDigest(scene.target, 'mixed/signed', digestTag(signed.digest, 'sbom')), sbom.digest);
    assert.equal(JSON.parse(await remote.show(`metadata/${host()}/ns.json`)).images.signed['1.0'].signatures, 3);
  });

  describe('opt-in conversions', () => {
    let dockerd: TestDockerd;
    before(async () => {
      dockerd = await startDockerd();
    });

    it('converts schema1 to schema2 (--schema1 convert) so dockerd pulls and exports it, and uploads foreign layers with --allow-nondistributable', async () => {
      const remote = await bareRemote();
      const run = await runCli(args(remote, 'opt-in', ['--schema1', 'convert', '--allow-nondistributable', '--json']), {});
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const json = JSON.parse(await remote.show(`metadata/${host()}/ns.json`));
      const record = json.images.old['1.0'];
      assert.equal(record.converted, 'schema1');
      assert.equal(record.digest, old.digest);
      const converted = await getManifest(scene.target, 'opt-in/old', '1.0');
      assert.equal(record.targetDigest, converted.digest);
      assert.equal(converted.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
      const manifest = converted.json as { layers: Array<{ digest: string }>; config: { digest: string } };
      assert.deepEqual(manifest.layers.map((l) => l.digest), [old.layers[0], old.layers[2]], 'the throwaway layer is dropped, the others kept in order');
      const config = (await (await fetch(`${scene.target.url}/v2/opt-in/old/blobs/${manifest.config.digest}`)).json()) as {
        rootfs: { diff_ids: string[] };
        history: Array<{ empty_layer?: boolean; created_by: string }>;
        os: string;
        id?: string;
      };
      assert.deepEqual(config.rootfs.diff_ids, old.diffIds);
      assert.deepEqual(config.history.map((h) => h.empty_layer === true), [false, true, false]);
      assert.equal(config.os, 'linux');
      assert.equal(config.id, undefined, 'v1 fields dropped');
      assert.deepEqual(record.platforms, ['linux/amd64']);

      const reference = `${scene.target.host}/opt-in/old:1.0`;
      await new Promise<void>((resolve, reject) => {
        dockerd.docker.pull(reference, (error: Error | null, stream: NodeJS.ReadableStream) => {
          if (error) return reject(error);
          dockerd.docker.modem.followProgress(stream, (done: Error | null) => (done ? reject(done) : resolve()));
        });
      });
      const container = await dockerd.docker.createContainer({ Image: reference });
      try {
        const exported = await container.export();
        const chunks: Buffer[] = [];
        for await (const chunk of exported) chunks.push(chunk as Buffer);
        const names = tarNames(Buffer.concat(chunks));
        assert.ok(names.includes('hello') && names.includes('motd.txt'), `exported files: ${names.join(', ')}`);
      } finally {
        await container.remove({ force: true });
        await dockerd.docker.getImage(reference).remove({ force: true });
      }

      assert.equal(await headDigest(scene.target, 'opt-in/win', '3.1'), windows.digest);
      assert.equal(await hasBlob(scene.upstream, 'ns/win', windows.foreignLayer), false, 'the source repository does not hold it');
      assert.equal(await hasBlob(scene.target, 'opt-in/win', windows.foreignLayer), true, 'foreign layer read from its url and uploaded on request');
    });
  });

  it('names the child when the target refuses a manifest with foreign layers, and copies the rest', async () => {
    const strict = await startRegistry();
    try {
      const remote = await bareRemote();
      const run = await runCli(['sync', '--source', `${scene.source.host}/ns`, '--target', `${strict.host}/strict`, '--metadata-repo', remote.url, '--json'], {});
      assert.equal(run.code, 1, run.stderr);
      const report = JSON.parse(run.stdout);
      const failed = report.outcomes.filter((o: { status: string }) => o.status === 'failed');
      assert.equal(failed.length, 1);
      assert.match(failed[0].error, new RegExp(`ns/win:3.1@${windows.windows} \\(windows/amd64\\) has non-distributable \\(foreign\\) layers and the target refused its manifest`));
      assert.equal(await headDigest(strict, 'strict/plain', '1.0'), plain.digest);
      assert.equal(await headDigest(strict, 'strict/win', windows.linux), windows.linux, 'the linux child made it');
    } finally {
      await strict.stop();
    }
  });

  it('copies digest tags whatever the tag filters say, and no referrers with referrers: false', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('shapes-config');
    const config = join(dir, 'gcrsync.yaml');
    await writeFile(
      config,
      [
        'jobs:',
        '  - name: signed-only',
        `    source: ${scene.source.host}/ns`,
        `    target: ${scene.target.host}/no-referrers`,
        `    metadataRepo: ${remote.url}`,
        '    referrers: false',
        '    filters:',
        "      include: ['^1\\.0$']",
        '',
      ].join('\n'),
    );
    const run = await runCli(['sync', '--config', config], {});
    assert.equal(run.code, 0, run.stderr + run.stdout);
    // the summary names the schema1 tag, the run table counts it
    assert.match(run.stdout, new RegExp(`${scene.source.host}/ns/old:1\\.0: not mirrorable: schema1`));
    assert.match(run.stdout, /^not mirrorable +1 /m);
    assert.equal(await headDigest(scene.target, 'no-referrers/signed', digestTag(signed.digest, 'sig')), attached.signature.digest);
    assert.equal(await headDigest(scene.target, 'no-referrers/signed', attached.artifact.digest), undefined, 'no referrer copied');
    assert.equal(await headDigest(scene.target, 'no-referrers/signed', scanReport.digest), undefined);
    assert.equal(await headDigest(scene.target, 'no-referrers/signed', digestTag(signed.digest)), undefined, 'no fallback tag published');
    assert.equal(await headDigest(scene.target, 'no-referrers/fallback', digestTag(fallback.digest)), undefined);
    const json = JSON.parse(await remote.show(`metadata/${host()}/ns.json`));
    const signatureTags = (await listTags(scene.upstream, 'ns/signed')).filter((tag) => tag.startsWith(`${digestTag(signed.digest)}.`));
    assert.ok(signatureTags.length >= 2);
    assert.equal(json.images.signed['1.0'].signatures, signatureTags.length, '.sig, .att (and the .sbom the first test adds)');
    assert.equal(json.images.signed['1.0'].referrers, undefined);
  });
});
