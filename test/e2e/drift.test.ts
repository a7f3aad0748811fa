import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';
import { startDockerd } from '../support/dockerd.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../support/temp.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { deleteManifest, headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';

const IMAGES = [
  ['ns/pause', '3.1'],
  ['ns/pause', '3.2'],
  ['ns/sub/app', 'v1'],
] as const;

interface Report {
  verified?: { checked: number; drifted: number };
  planned: Array<{ source: string; reason: string }>;
  outcomes: Array<{ status: string; source: string; target: string }>;
}

/**
 * Drift: what the target really holds, not what the metadata says. `sync --verify` HEADs every recorded mirror and
 * copies again what was deleted or overwritten; `compare` records only mirrors with the source's content.
 */
describe('drift and compare against what the target holds (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of IMAGES) await pushTestImage(upstream, repo, tag);
    },
  });
  const metadataFile = (remote: BareRemote) => remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`);
  const run = (command: string, remote: BareRemote, prefix: string, extra: string[] = []) =>
    runCli([command, '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, ...extra]);

  it('sync --verify copies again a mirror deleted at the target and one overwritten there, logged as repaired', async () => {
    const remote = await bareRemote();
    const prefix = 'drift';
    const first = await run('sync', remote, prefix);
    assert.equal(first.code, 0, first.stderr);
    const deleted = (await headDigest(scene.target, `${prefix}/pause`, '3.1'))!;
    await deleteManifest(scene.target, `${prefix}/pause`, deleted);
    await pushTestImage(scene.target, `${prefix}/sub/app`, 'v1', { seed: 'someone else' });
    const head = await remote.head();

    const verified = await run('sync', remote, prefix, ['--verify', '--json']);
    assert.equal(verified.code, 0, verified.stderr);
    const report = JSON.parse(verified.stdout) as Report;
    assert.deepEqual(report.verified, { checked: 3, drifted: 2 });
    assert.deepEqual(report.planned.map((p) => [p.source, p.reason]).sort(), [
      [`${scene.source.host}/ns/pause:3.1`, 'drifted'],
      [`${scene.source.host}/ns/sub/app:v1`, 'drifted'],
    ]);
    for (const [repo, tag] of IMAGES) {
      const mirrored = `${prefix}/${repo.slice('ns/'.length)}`;
      assert.equal(await headDigest(scene.target, mirrored, tag), await headDigest(scene.upstream, repo, tag), `${mirrored}:${tag} repaired`);
    }
    assert.notEqual(await remote.head(), head, 'the repair is committed');
    const newest = (await remote.show('CHANGELOG.md')).split(/^## /m)[1]!;
    assert.match(newest, /### Repaired \(2\)/);
    assert.match(verified.stderr, /pause:3\.1 is gone from the target/);

    const again = await run('sync', remote, prefix, ['--verify']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /verified\s+3 at the target, 0 gone or different/);
    assert.match(again.stdout, /copied\s+0/);
  });

  it('compare records only mirrors with the source digest and lists the others as differing; the next sync copies them', async () => {
    const remote = await bareRemote();
    const prefix = 'adopt';
    await pushTestImage(scene.target, `${prefix}/pause`, '3.1', { seed: 'ns/pause:3.1' });
    await pushTestImage(scene.target, `${prefix}/pause`, '3.2', { seed: 'not the same image' });
    const compared = await run('compare', remote, prefix);
    assert.equal(compared.code, 0, compared.stderr);
    assert.match(compared.stdout, /found at target 1/);
    assert.match(compared.stdout, /missing at target 1/);
    assert.match(compared.stdout, /differs at target 1/);
    assert.match(compared.stdout, new RegExp(`ns/pause:3\\.2 -> ${scene.target.host}/${prefix}/pause:3\\.2`));
    assert.match(compared.stdout, /missing at target\s+1/, 'the table agrees with the summary');
    assert.match(compared.stdout, /differs at target\s+1/);
    const json = JSON.parse(await metadataFile(remote));
    assert.deepEqual(Object.keys(json.images.pause), ['3.1'], 'only the identical mirror is recorded');

    const synced = await run('sync', remote, prefix, ['--json', '--verify']);
    assert.equal(synced.code, 0, synced.stderr);
    const copied = (JSON.parse(synced.stdout) as Report).outcomes.filter((o) => o.status === 'synced').map((o) => o.source).sort();
    assert.deepEqual(copied, [`${scene.source.host}/ns/pause:3.2`, `${scene.source.host}/ns/sub/app:v1`]);
    assert.equal(await headDigest(scene.target, `${prefix}/pause`, '3.2'), await headDigest(scene.upstream, 'ns/pause', '3.2'));
  });

  it('compare adopts a docker-transport mirror (rewritten digest) whose platform is the source\'s', async () => {
    const dockerHost = `unix://${(await startDockerd()).socketPath}`;
    const env = { DOCKER_HOST: dockerHost };
    const synced = await bareRemote();
    const prefix = 'daemon';
    const args = (remote: BareRemote, command: string) =>
      [command, '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, '--transport', 'docker'];
    const first = await runCli(args(synced, 'sync'), { env });
    assert.equal(first.code, 0, first.stderr);
    const viaDaemon = JSON.parse(await metadataFile(synced)).images.pause['3.1'];
    assert.ok(viaDaemon.targetDigest !== undefined && viaDaemon.targetDigest !== viaDaemon.digest, 'the daemon rewrote the manifest');

    const fresh = await bareRemote();
    const compared = await runCli([...args(fresh, 'compare'), '--json'], { env });
    assert.equal(compared.code, 0, compared.stderr);
    const statuses = (JSON.parse(compared.stdout) as Report).outcomes.map((o) => o.status);
    assert.deepEqual(statuses, IMAGES.map(() => 'already-present'));
    const record = JSON.parse(await metadataFile(fresh)).images.pause['3.1'];
    assert.deepEqual(record.platforms, ['linux/amd64']);
    const rerun = await runCli(args(fresh, 'sync'), { env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /copied\s+0/);
  });

  it('verify: in gcrsync.yaml sets the job\'s policy (always checks everything, never nothing); a bad value is a config error', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('verify-config');
    const config = (verify: string) =>
      writeFile(join(dir, 'gcrsync.yaml'), `jobs:\n  - name: ns\n    source: ${scene.source.host}/ns\n    target: ${scene.target.host}/policy\n    metadataRepo: ${remote.url}\n    verify: ${verify}\n`);
    await config('never');
    const first = await runCli(['sync'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    await deleteManifest(scene.target, 'policy/pause', (await headDigest(scene.target, 'policy/pause', '3.2'))!);

    const never = await runCli(['sync'], { cwd: dir });
    assert.equal(never.code, 0, never.stderr);
    assert.doesNotMatch(never.stdout, /verified/);
    assert.equal(await headDigest(scene.target, 'policy/pause', '3.2'), undefined, 'never: the metadata is trusted');

    await config('always');
    const always = await runCli(['sync'], { cwd: dir });
    assert.equal(always.code, 0, always.stderr);
    assert.match(always.stdout, /verified\s+3 at the target, 1 gone or different/);
    assert.equal(await headDigest(scene.target, 'policy/pause', '3.2'), await headDigest(scene.upstream, 'ns/pause', '3.2'));

    await config('sometimes');
    const bad = await runCli(['config', 'validate'], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /jobs\[0\]\.verify: expected always, never, or a fraction from 0 to 1 such as 1\/7 or 0\.25, got "sometimes"/);
  });
});
