import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { getManifest, headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

/**
 * The desired state includes the target: another target, other naming rules, another platform filter or another
 * DST copy the images again (the metadata records the mirror they were made for), and two targets of one
 * namespace keep their records in two files.
 */
describe('retargeting (CLI, end to end)', function () {
  this.timeout(180_000);
  const images = [
    ['ns/pause', '3.1'],
    ['ns/sub/app', 'v1'],
  ] as const;
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of images) await pushTestImage(upstream, repo, tag);
      await pushTestImage(upstream, 'ns/multi', '1', { platforms: ['linux/amd64', 'linux/arm64'] });
    },
  });
  const sourceDir = () => scene.source.host.replace(':', '_');
  const targetSlug = (prefix: string) => `${scene.target.host.replace(':', '_')}+${prefix}`;
  const sync = (remote: BareRemote, prefix: string, extra: string[] = [], cwd?: string) =>
    runCli(['sync', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, ...extra], {
      ...(cwd !== undefined && { cwd }),
    });

  it('copies everything to a new --target and keeps each target in its own file; going back is a no-op', async () => {
    const remote = await bareRemote();
    const first = await sync(remote, 'one');
    assert.equal(first.code, 0, first.stderr);
    const oneFile = await remote.show(`metadata/${sourceDir()}/ns.json`);

    const second = await sync(remote, 'two', ['--json']);
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(second.stdout);
    assert.equal(report.outcomes.filter((o: { status: string }) => o.status === 'synced').length, 3, 'every tag copied to the new target');
    for (const [repo, tag] of images) {
      const path = repo.slice('ns/'.length);
      assert.equal(await headDigest(scene.target, `two/${path}`, tag), await headDigest(scene.upstream, repo, tag), `two/${path}:${tag}`);
    }
    assert.equal(await remote.show(`metadata/${sourceDir()}/ns.json`), oneFile, 'the first target\'s records are untouched');
    const two = JSON.parse(await remote.show(`metadata/${sourceDir()}/ns@${targetSlug('two')}.json`));
    assert.equal(two.target, `${scene.target.host}/two`);
    assert.equal(two.images['sub/app'].v1.target, `${scene.target.host}/two/sub/app:v1`);

    const head = await remote.head();
    for (const prefix of ['one', 'two']) {
      const again = await sync(remote, prefix);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /up to date\s+3/, prefix);
      assert.match(again.stdout, /copied\s+0/, prefix);
    }
    assert.equal(await remote.head(), head, 'no commit when both targets are complete');

    const where = await runCli(['list', 'sub/app', '--metadata-repo', remote.url]);
    assert.equal(where.code, 0, where.stderr);
    assert.match(where.stdout, new RegExp(`${scene.target.host}/one/sub/app:v1`));
    assert.match(where.stdout, new RegExp(`${scene.target.host}/two/sub/app:v1`));
  });

  it('copies again, as "retargeted", what other naming rules or another --platform name differently', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('retarget');
    const config = (template: string) =>
      writeFile(
        join(dir, 'gcrsync.yaml'),
        `jobs:\n  - name: ns\n    source: ${scene.source.host}/ns\n    target: ${scene.target.host}/named\n    metadataRepo: ${remote.url}\n    naming: { template: "${template}" }\n`,
      );
    await config('{path}');
    const first = await runCli(['sync'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);

    await config('{repo}');
    const renamed = await runCli(['sync', '--json'], { cwd: dir });
    assert.equal(renamed.code, 0, renamed.stderr);
    const report = JSON.parse(renamed.stdout).runs[0].report;
    assert.deepEqual(
      report.planned.map((p: { target: string; reason: string }) => [p.target, p.reason]),
      [[`${scene.target.host}/named/app:v1`, 'retargeted']],
    );
    assert.equal(await headDigest(scene.target, 'named/app', 'v1'), await headDigest(scene.upstream, 'ns/sub/app', 'v1'));
    const json = JSON.parse(await remote.show(`metadata/${sourceDir()}/ns.json`));
    assert.equal(json.images['sub/app'].v1.target, `${scene.target.host}/named/app:v1`);
    const changelog = await remote.show('CHANGELOG.md');
    const newest = changelog.split(/^## /m)[1]!;
    assert.match(newest, /### Retargeted \(1\)/);
    assert.match(newest, new RegExp(`${scene.source.host}/ns/sub/app:v1\` → \`${scene.target.host}/named/app:v1`));

    // the whole index was mirrored; only amd64 is wanted now: a new index with one platform
    const narrowed = await runCli(['sync', '--platform', 'linux/amd64', '--json'], { cwd: dir });
    assert.equal(narrowed.code, 0, narrowed.stderr);
    assert.deepEqual(
      JSON.parse(narrowed.stdout).runs[0].report.planned.map((p: { target: string; reason: string }) => [p.target, p.reason]),
      [[`${scene.target.host}/named/multi:1`, 'retargeted']],
    );
    const index = (await getManifest(scene.target, 'named/multi', '1')).json as { manifests: Array<{ platform: { architecture: string } }> };
    assert.deepEqual(index.manifests.map((m) => m.platform.architecture), ['amd64']);
    const record = JSON.parse(await remote.show(`metadata/${sourceDir()}/ns.json`)).images.multi['1'];
    assert.deepEqual(record.platformFilter, ['linux/amd64']);
    const again = await runCli(['sync', '--platform', 'linux/amd64'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /up to date\s+3/);
  });

  it('copy SRC DST verifies DST\'s own tag, and copies an image recorded for another target', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('retarget-copy');
    const src = `${scene.source.host}/ns/pause:3.1`;
    const retagged = await runCli(['copy', src, `${scene.target.host}/exact/pause:custom`, '--metadata-repo', remote.url], { cwd: dir });
    assert.equal(retagged.code, 0, retagged.stdout + retagged.stderr);
    assert.equal(await headDigest(scene.target, 'exact/pause', 'custom'), await headDigest(scene.upstream, 'ns/pause', '3.1'));

    const elsewhere = await runCli(['copy', src, `${scene.target.host}/elsewhere/pause`, '--metadata-repo', remote.url, '--json'], { cwd: dir });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.deepEqual(JSON.parse(elsewhere.stdout).outcomes.map((o: { status: string }) => o.status), ['synced']);
    assert.equal(await headDigest(scene.target, 'elsewhere/pause', '3.1'), await headDigest(scene.upstream, 'ns/pause', '3.1'));
    const json = JSON.parse(await remote.show(`metadata/${sourceDir()}/ns@${targetSlug('elsewhere')}.json`));
    assert.equal(json.images.pause['3.1'].target, `${scene.target.host}/elsewhere/pause:3.1`);
  });
});
