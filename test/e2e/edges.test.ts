import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { useSyncScene } from '../support/sync-scene.js';

/** Twelve repositories: more than the default listener limit of 10 on one abort signal. */
const IMAGES = Array.from({ length: 12 }, (_, i) => ({ repository: `ns/repo${i}`, tag: 'v1' }));

/**
 * Everyday edges of a sync: a --platform the images lack, a source namespace that does not exist, and runs
 * big enough (more than 10 repositories, monitor rounds) to show listener leaks as warnings.
 */
describe('platforms, missing sources and listener leaks (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const image of IMAGES) await pushTestImage(upstream, image.repository, image.tag);
      await pushTestImage(upstream, 'ns/multi', '1', { platforms: ['linux/amd64', 'linux/arm64'] });
    },
  });
  let plain: TestRegistry;
  before(async () => {
    plain = await startRegistry();
    await pushTestImage({ url: plain.url }, 'other/thing', 'v1');
  });
  after(() => plain?.stop());

  const syncArgs = (source: string, target: string, remoteUrl: string, extra: string[] = []) => [
    'sync', '--source', source, '--target', target, '--metadata-repo', remoteUrl, ...extra,
  ];

  it('--platform linux/arm64 copies the arm64 part of an index and skips single-platform amd64 images as "no matching platform", exit 0', async () => {
    const remote = await bareRemote();
    const result = await runCli(syncArgs(`${scene.source.host}/ns`, `${scene.target.host}/arm`, remote.url, ['--platform', 'linux/arm64', '--json']));
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { outcomes: Array<{ status: string; source: string }> };
    assert.equal(report.outcomes.filter((o) => o.status === 'no-platform').length, IMAGES.length);
    assert.deepEqual(report.outcomes.filter((o) => o.status === 'synced').map((o) => o.source), [`${scene.source.host}/ns/multi:1`]);
    assert.equal(report.outcomes.filter((o) => o.status === 'failed').length, 0);
    assert.equal(await headDigest(scene.target, 'arm/repo0', 'v1'), undefined, 'nothing copied for an amd64-only image');

    const text = await runCli(syncArgs(`${scene.source.host}/ns`, `${scene.target.host}/arm`, remote.url, ['--platform', 'linux/arm64']));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`no matching platform\\s+${IMAGES.length}`));
    assert.doesNotMatch(text.stdout, /not started\s+[1-9]/);
  });

  it('a source namespace that does not exist is exit 2 with a message, nothing committed', async () => {
    const remote = await bareRemote();
    const head = await remote.head();
    for (const source of [`${scene.source.host}/nonexistent`, `${plain.host}/nonexistent`]) {
      const result = await runCli(syncArgs(source, `${scene.target.host}/x`, remote.url));
      assert.equal(result.code, 2, `${source}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, new RegExp(`source ${source.replaceAll('.', '\\.')} does not exist`));
    }
    assert.equal(await remote.head(), head);
  });

  it('a sync of more than 10 repositories, and 12 monitor rounds, pile no listeners onto one abort signal', async () => {
    const remote = await bareRemote();
    const args = syncArgs(`${scene.source.host}/ns`, `${scene.target.host}/many`, remote.url, ['--concurrency', '12', '--query-limit', '20']);
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /MaxListenersExceededWarning/);
    const noop = await runCli(args);
    assert.equal(noop.code, 0, noop.stderr);
    assert.doesNotMatch(noop.stderr, /MaxListenersExceededWarning/);

    const monitor = await runCli(['monitor', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/many`, '--metadata-repo', remote.url, '--interval', '1ms', '--count', '12']);
    assert.equal(monitor.code, 0, monitor.stderr);
    assert.equal(monitor.stdout.trim().split('\n').length, 12);
    assert.doesNotMatch(monitor.stderr, /MaxListenersExceededWarning/);
  });

  it('the outcome table agrees with the summary in test, after a sync, and in a no-op run', async () => {
    const remote = await bareRemote();
    const args = (command: string) => [command, '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/table`, '--metadata-repo', remote.url];
    const all = IMAGES.length + 1;
    const planned = await runCli(args('test'));
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, new RegExp(`^ {2}would copy {6}${all}$`, 'm'), 'summary');
    assert.match(planned.stdout, new RegExp(`^would copy +${all} +0 B +0s$`, 'm'), 'table');
    assert.doesNotMatch(planned.stdout, /^copied +0/m, 'no all-zero copy rows under a plan');

    const synced = await runCli(args('sync'));
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, new RegExp(`^ {2}copied {10}${all}$`, 'm'));
    assert.match(synced.stdout, new RegExp(`^copied +${all} `, 'm'));

    const noop = await runCli(args('sync'));
    assert.equal(noop.code, 0, noop.stderr);
    assert.match(noop.stdout, new RegExp(`^ {2}up to date {6}${all}$`, 'm'));
    assert.match(noop.stdout, new RegExp(`^up to date +${all} `, 'm'));
    assert.match(noop.stdout, new RegExp(`^total +${all} `, 'm'));
  });
});
