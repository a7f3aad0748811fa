import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { startDockerd } from '../support/dockerd.js';
import { bareRemote, cloneWithIdentity, git, type BareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

/**
 * The daily job end to end, through the built CLI: a gcr.io-style source (listing extension with nested
 * repositories) in front of a real registry, a real target registry, a bare git remote as metadata repo.
 */
describe('gcrsync sync (CLI, end to end)', function () {
  this.timeout(180_000);
  let dockerHost: string;

  const images = [
    ['ns/pause', '3.1'],
    ['ns/pause', '3.2'],
    ['ns/sub/app', 'v1'],
    ['ns/sub/deeper/tool', '1.0'],
  ] as const;
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of images) await pushTestImage(upstream, repo, tag);
    },
    target: { auth: 'htpasswd' },
  });

  before(async () => {
    dockerHost = `unix://${(await startDockerd()).socketPath}`;
  });

  const metadataFile = (remote: BareRemote) => remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`);
  function args(command: string, remote: BareRemote, prefix: string, extra: string[] = []): string[] {
    return [command, '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, ...extra];
  }
  const env = () => ({
    GCRSYNC_USERNAME: scene.target.credentials!.username,
    GCRSYNC_PASSWORD: scene.target.credentials!.password,
    DOCKER_HOST: dockerHost,
  });

  for (const transport of ['docker', 'registry'] as const) {
    it(`syncs nested repositories, commits JSON + CHANGELOG in one fast-forward commit, and reruns as a no-op (${transport})`, async () => {
      const remote = await bareRemote();
      const prefix = `mirror-${transport}`;
      const before = await remote.head();
      const first = await runCli(args('sync', remote, prefix, ['--transport', transport, '--json']), { env: env() });
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout);
      assert.equal(report.outcomes.filter((o: { status: string }) => o.status === 'synced').length, images.length);

      for (const [repo, tag] of images) {
        const mirrored = `${prefix}/${repo.slice('ns/'.length)}`;
        const digest = await headDigest(scene.target, mirrored, tag);
        assert.ok(digest, `${mirrored}:${tag} at the target`);
        if (transport === 'registry') assert.equal(digest, await headDigest(scene.upstream, repo, tag), 'digest preserved');
      }
      const json = JSON.parse(await metadataFile(remote));
      assert.deepEqual(Object.keys(json.images), ['pause', 'sub/app', 'sub/deeper/tool']);
      const record = json.images['sub/app'].v1;
      assert.equal(record.digest, await headDigest(scene.upstream, 'ns/sub/app', 'v1'));
      assert.equal(record.target, `${scene.target.host}/${prefix}/sub/app:v1`);
      assert.deepEqual(record.platforms, ['linux/amd64']);
      const changelog = await remote.show('CHANGELOG.md');
      assert.match(changelog, new RegExp(`${scene.source.host}/ns/sub/deeper/tool:1.0`));
      const log = (await git(remote.path, 'log', '--format=%H %P', 'main')).split('\n');
      assert.equal(log.length, 2, 'one new commit');
      assert.equal(log[0]!.split(' ')[1], before, 'fast-forward on top of the old head');

      const headAfterFirst = await remote.head();
      const second = await runCli(args('sync', remote, prefix, ['--transport', transport]), { env: env() });
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /copied\s+0/);
      assert.equal(await remote.head(), headAfterFirst, 'a no-op run makes no commit');
    });
  }

  it('re-syncs a moved tag and logs it as updated', async () => {
    const remote = await bareRemote();
    const prefix = 'moved';
    assert.equal((await runCli(args('sync', remote, prefix, ['--transport', 'registry']), { env: env() })).code, 0);
    const moved = await pushTestImage(scene.upstream, 'ns/pause', '3.1', { seed: 'moved-pause' });
    try {
      const rerun = await runCli(args('sync', remote, prefix, ['--transport', 'registry', '--json']), { env: env() });
      assert.equal(rerun.code, 0, rerun.stderr);
      const report = JSON.parse(rerun.stdout);
      assert.deepEqual(report.planned.map((p: { reason: string; source: string }) => [p.reason, p.source]), [['digest-changed', `${scene.source.host}/ns/pause:3.1`]]);
      assert.equal(await headDigest(scene.target, `${prefix}/pause`, '3.1'), moved.digest);
      assert.equal(JSON.parse(await metadataFile(remote)).images.pause['3.1'].digest, moved.digest);
      const newest = (await remote.show('CHANGELOG.md')).split(/^## /m)[1]!;
      assert.match(newest, /updated/i);
      assert.match(newest, /ns\/pause:3\.1/);
      assert.doesNotMatch(newest, /ns\/sub\/app/);
    } finally {
      await pushTestImage(scene.upstream, 'ns/pause', '3.1');
    }
  });

  it('compare records what the target has; the following sync copies only what is missing', async () => {
    const remote = await bareRemote();
    const prefix = 'bootstrap';
    await pushTestImage(scene.target, `${prefix}/pause`, '3.1', { seed: 'ns/pause:3.1' });
    await pushTestImage(scene.target, `${prefix}/sub/app`, 'v1', { seed: 'ns/sub/app:v1' });
    const compared = await runCli(args('compare', remote, prefix), { env: env() });
    assert.equal(compared.code, 0, compared.stderr);
    const json = JSON.parse(await metadataFile(remote));
    assert.deepEqual(Object.keys(json.images).sort(), ['pause', 'sub/app']);
    const synced = await runCli(args('sync', remote, prefix, ['--transport', 'registry', '--json']), { env: env() });
    assert.equal(synced.code, 0, synced.stderr);
    const copied = JSON.parse(synced.stdout).outcomes.map((o: { source: string }) => o.source).sort();
    assert.deepEqual(copied, [`${scene.source.host}/ns/pause:3.2`, `${scene.source.host}/ns/sub/deeper/tool:1.0`]);
  });

  it('refuses corrupt metadata with exit 2, naming the file and position, and leaves it untouched', async () => {
    const remote = await bareRemote();
    const work = await cloneWithIdentity(remote.url);
    const file = join(work.dir, 'metadata', scene.source.host.replace(':', '_'), 'ns.json');
    await git(work.dir, 'checkout', '-q', 'main');
    const corrupt = '{\n  "source": "x",\n  "images": {,}\n}\n';
    await import('node:fs/promises').then((fs) => fs.mkdir(join(file, '..'), { recursive: true }));
    await writeFile(file, corrupt);
    await git(work.dir, 'add', '-A');
    await git(work.dir, 'commit', '-qm', 'corrupt');
    await git(work.dir, 'push', '-q', 'origin', 'main');
    const head = await remote.head();
    const result = await runCli(args('sync', remote, 'corrupt', ['--transport', 'registry']), { env: env() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /METADATA_CORRUPT/);
    assert.match(result.stderr, /ns\.json:3:\d+/);
    assert.equal(await remote.head(), head);
    assert.equal(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`), corrupt.trimEnd());
    assert.equal(await headDigest(scene.target, 'corrupt/pause', '3.1'), undefined, 'nothing copied');
    await readFile(file, 'utf8').then((text) => assert.equal(text, corrupt));
    await work.cleanup();
  });

  it('test (dry run) prints the plan and touches nothing', async () => {
    const remote = await bareRemote();
    const head = await remote.head();
    const result = await runCli(args('test', remote, 'dry'), { env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /would copy\s+4/);
    assert.match(result.stdout, new RegExp(`${scene.target.host}/dry/sub/deeper/tool:1.0`));
    assert.equal(await remote.head(), head);
    assert.equal(await headDigest(scene.target, 'dry/pause', '3.1'), undefined);
  });

  it('keeps the report with --report, posts the summary with --notify, and prints the table and CI progress lines', async () => {
    const posts: string[] = [];
    const hook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        posts.push(body);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const remote = await bareRemote();
      const reportFile = join(await tempDir('report'), 'report.json');
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/T000/B000/secretpath`;
      const result = await runCli(args('sync', remote, 'reported', ['--report', reportFile, '--notify', url, '--notify-on', 'always']), { env: env() });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(await readFile(reportFile, 'utf8'));
      assert.equal(report.outcomes.length, images.length);
      for (const outcome of report.outcomes) {
        assert.equal(outcome.status, 'synced');
        assert.match(outcome.digest, /^sha256:/);
        assert.ok(outcome.bytes > 0 && outcome.seconds >= 0);
      }
      assert.equal(posts.length, 1);
      assert.match(JSON.parse(posts[0]!).text, /reported/);
      assert.match(result.stdout, /outcome\s+images\s+bytes/);
      assert.match(result.stdout, /copied\s+4/);
      assert.doesNotMatch(result.stderr, /\u001b\[/, 'no terminal bars when stderr is not a TTY');
      assert.doesNotMatch(result.stderr + result.stdout, /secretpath/, 'the webhook URL path is a secret');
      const failing = await runCli(args('sync', remote, 'reported', ['--notify', 'ftp://nowhere']), { env: env() });
      assert.equal(failing.code, 2);
      assert.match(failing.stderr, /--notify/);
    } finally {
      hook.close();
    }
  });

  it('monitor prints source total / synced / waiting, refreshed from the metadata remote', async () => {
    const remote = await bareRemote();
    const before = await runCli([...args('monitor', remote, 'watched'), '--count', '2', '--interval', '100ms']);
    assert.equal(before.code, 0, before.stderr);
    const lines = before.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /total 4, synced 0, waiting 4$/);
    assert.equal((await runCli(args('sync', remote, 'watched'), { env: env() })).code, 0);
    const after = await runCli([...args('monitor', remote, 'watched'), '--count', '1', '--json']);
    assert.deepEqual(
      (({ total, synced, waiting }) => ({ total, synced, waiting }))(JSON.parse(after.stdout)),
      { total: 4, synced: 4, waiting: 0 },
    );
    const bad = await runCli([...args('monitor', remote, 'watched'), '--interval', 'often']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--interval.*"often"/);
  });

  it('monitor without --target takes the target the metadata records, and says why it needs one when nothing is recorded', async () => {
    const remote = await bareRemote();
    const noTarget = ['monitor', '--source', `${scene.source.host}/ns`, '--metadata-repo', remote.url, '--count', '1'];
    const unrecorded = await runCli(noTarget);
    assert.equal(unrecorded.code, 2, unrecorded.stderr);
    assert.match(unrecorded.stderr, /--target/);
    assert.match(unrecorded.stderr, /records no target for .*\/ns/, 'the message says why the target is needed');
    assert.equal((await runCli(args('sync', remote, 'recorded'), { env: env() })).code, 0);
    const monitored = await runCli([...noTarget, '--json']);
    assert.equal(monitored.code, 0, monitored.stderr);
    assert.deepEqual(
      (({ total, synced, waiting }) => ({ total, synced, waiting }))(JSON.parse(monitored.stdout)),
      { total: 4, synced: 4, waiting: 0 },
    );
  });

  it('exits 2 on usage errors and names the bad value', async () => {
    const result = await runCli(['sync', '--source', 'gcr.io/Bad_NS', '--target', 'x.io']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /gcr\.io\/Bad_NS/);
    const unknown = await runCli(['sync', '--bogus-flag']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /bogus-flag/);
  });

  it('exits 2 and changes nothing when the source is unreachable', async () => {
    const remote = await bareRemote();
    const head = await remote.head();
    const result = await runCli(['sync', '--source', '127.0.0.1:1/ns', '--target', `${scene.target.host}/x`, '--metadata-repo', remote.url], { env: env() });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /SOURCE_UNREACHABLE/);
    assert.equal(await remote.head(), head);
  });
});
