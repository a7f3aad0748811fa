import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetadata } from '../../src/store/schema.js';
import { runCli, type CliResult } from '../support/cli.js';
import { bareRemote, cloneWithIdentity, git, type BareRemote } from '../support/git.js';
import { hostileFront, type HostileFront } from '../support/hostile-front.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

interface Report {
  outcomes: Array<{ source: string; status: string; error?: string }>;
  commit?: { committed: boolean; pushed: boolean; error?: string };
}

/**
 * Exit 2 means "nothing was changed". Failures after images were copied (one image with a hostile config, a
 * metadata push the remote declines, a metadata file that cannot be read) are exit 1, and the --json output,
 * the --report file and the --notify message are still produced.
 */
describe('exit codes and reports after images were copied (CLI, end to end)', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let target: TestRegistry;
  let slack: HostileFront;
  let work: string;

  before(async () => {
    upstream = await startRegistry();
    target = await startRegistry();
    await pushTestImage({ url: upstream.url }, 'ns/good', 'v1');
    // an image config whose architecture holds a line break: no os/arch the metadata can record
    await pushTestImage({ url: upstream.url }, 'hostile/bad', 'v1', { platforms: ['linux/amd64\nINFO forged'] });
    await pushTestImage({ url: upstream.url }, 'hostile/good', 'v1');
    await pushTestImage({ url: upstream.url }, 'two/a', 'v1');
    await pushTestImage({ url: upstream.url }, 'two/b', 'v1');
    slack = await hostileFront(undefined, (_req, res) => {
      res.writeHead(200).end('ok');
      return true;
    });
    work = await tempDir('exit-codes');
  });
  after(async () => {
    await slack?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  async function sync(namespace: string, remote: BareRemote, prefix: string): Promise<{ result: CliResult; report: Report; written: Report }> {
    const reportFile = join(work, `${prefix}.json`);
    const notified = slack.requests.length;
    const result = await runCli([
      'sync', '--source', `${upstream.host}/${namespace}`, '--target', `${target.host}/${prefix}`, '--metadata-repo', remote.url,
      '--json', '--report', reportFile, '--notify', `${slack.url}/hooks/${prefix}`, '--notify-on', 'failure',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    const written = JSON.parse(await readFile(reportFile, 'utf8')) as Report;
    assert.deepEqual(written, report, 'the --report file holds the report');
    assert.equal(slack.requests.length, notified + 1, 'the failure was notified');
    return { result, report, written };
  }

  it('an image whose config names a hostile architecture fails alone; the others are recorded (exit 1)', async () => {
    const remote = await bareRemote();
    const { report } = await sync('hostile', remote, 'arch');
    const bySource = new Map(report.outcomes.map((o) => [o.source.slice(upstream.host.length + 1), o]));
    assert.equal(bySource.get('hostile/good:v1')?.status, 'synced');
    assert.equal(bySource.get('hostile/bad:v1')?.status, 'failed');
    assert.match(bySource.get('hostile/bad:v1')!.error!, /HOSTILE_RESPONSE.*names its platform "linux\/amd64\\nINFO forged", which is not os\/arch/);
    const file = `metadata/${upstream.host.replace(':', '_')}/hostile.json`;
    const recorded = parseMetadata(await remote.show(file), file);
    assert.deepEqual(Object.keys(recorded.images).sort(), ['good']);
  });

  it('a metadata push the remote declines: the images stay copied, the report says so, exit 1', async () => {
    const remote = await bareRemote();
    const hook = join(remote.path, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "declined by policy" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const before = await remote.head();
    const { report } = await sync('ns', remote, 'declined');
    assert.equal(report.outcomes[0]?.status, 'synced');
    assert.ok(await headDigest({ url: target.url }, 'declined/good', 'v1'), 'the image was copied');
    assert.match(report.commit?.error ?? '', /declined by policy|pre-receive hook declined/);
    assert.equal(report.commit?.pushed ?? false, false);
    assert.equal(await remote.head(), before, 'the remote is unchanged');
  });

  it('a checkpoint whose push is declined goes again with the next one: everything recorded, exit 0', async () => {
    const remote = await bareRemote();
    const hook = join(remote.path, 'hooks', 'pre-receive');
    const count = join(remote.path, 'pushes');
    // declines the first push only
    await writeFile(hook, `#!/bin/sh\necho x >> '${count}'\n[ "$(wc -l < '${count}')" -gt 1 ] || { echo "declined once" >&2; exit 1; }\n`);
    await chmod(hook, 0o755);
    const result = await runCli([
      'sync', '--source', `${upstream.host}/two`, '--target', `${target.host}/again`, '--metadata-repo', remote.url, '--json', '--checkpoint-every', '1', '--concurrency', '1',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /the metadata could not be recorded.*declined once/);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.commit?.error, undefined, 'the later checkpoint recorded everything');
    assert.equal(report.commit?.pushed, true);
    const file = `metadata/${upstream.host.replace(':', '_')}/two.json`;
    assert.deepEqual(Object.keys(parseMetadata(await remote.show(file), file).images).sort(), ['a', 'b']);
  });

  it('a dangling symlink under metadata/: the images stay copied, the report says why nothing was recorded, exit 1', async () => {
    const remote = await bareRemote();
    const clone = await cloneWithIdentity(remote.url);
    try {
      // the directory this namespace's file goes in leads nowhere: the file reads as absent, writing it fails
      await mkdir(join(clone.dir, 'metadata'), { recursive: true });
      await symlink('../nowhere/gone', join(clone.dir, 'metadata', upstream.host.replace(':', '_')));
      await git(clone.dir, 'add', '-A');
      await git(clone.dir, 'commit', '--quiet', '-m', 'a dangling symlink');
      await git(clone.dir, 'push', '--quiet', 'origin', 'HEAD:main');
    } finally {
      await clone.cleanup();
    }
    const before = await remote.head();
    const { report } = await sync('ns', remote, 'dangling');
    assert.equal(report.outcomes[0]?.status, 'synced');
    assert.ok(await headDigest({ url: target.url }, 'dangling/good', 'v1'), 'the image was copied');
    assert.ok((report.commit?.error ?? '') !== '', JSON.stringify(report.commit));
    assert.equal(await remote.head(), before, 'the remote is unchanged');
  });
});
