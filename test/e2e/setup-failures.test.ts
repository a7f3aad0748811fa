import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { useSyncScene } from '../support/sync-scene.js';
import { freePort, tempDir } from '../support/temp.js';

const IMAGES = Array.from({ length: 6 }, (_, i) => ({ repository: `ns/repo${i}`, tag: 'v1' }));

interface Report {
  stoppedBecause?: string;
  outcomes: Array<{ status: string }>;
}

/**
 * Failures of the setup, not of an image (credentials, a read-only target, an unreachable target, no Docker
 * daemon): the run stops after three identical failures with one message naming the registry and what to do,
 * exits 1, and leaves the metadata as it was.
 */
describe('fail-fast setup errors (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const image of IMAGES) await pushTestImage(upstream, image.repository, image.tag);
    },
  });
  let locked: TestRegistry;
  let readOnly: TestRegistry;
  before(async () => {
    locked = await startRegistry({ auth: 'htpasswd' });
    readOnly = await startRegistry({ readOnly: true });
  });
  after(async () => {
    await locked?.stop();
    await readOnly?.stop();
  });

  async function failFast(target: string, env: Record<string, string>, extra: string[] = []) {
    const remote = await bareRemote();
    const before = await remote.head();
    const result = await runCli(
      ['sync', '--source', `${scene.source.host}/ns`, '--target', `${target}/m`, '--metadata-repo', remote.url, '--concurrency', '1', '--json', ...extra],
      { cwd: await tempDir('setup'), env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test', ...env } },
    );
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.outcomes.filter((o) => o.status === 'failed').length, 3, 'three identical failures, then no more tries');
    assert.equal(report.outcomes.filter((o) => o.status === 'skipped').length, IMAGES.length - 3);
    assert.equal(await remote.head(), before, 'metadata untouched');
    return { stderr: result.stderr, stoppedBecause: report.stoppedBecause ?? '' };
  }

  /** The message appears once on stderr and is the reason the run stopped. */
  function oneMessage(stderr: string, stoppedBecause: string, pattern: RegExp): void {
    assert.match(stoppedBecause, pattern);
    assert.equal(stderr.split(stoppedBecause).length - 1, 1, `said once:\n${stderr}`);
    assert.doesNotMatch(stderr, /WARN.*failed /, 'no per-image warnings');
  }

  it('wrong credentials (401 on the first pushes): one message naming the registry and the variables', async () => {
    const { stderr, stoppedBecause } = await failFast(locked.host, { GCRSYNC_USERNAME: 'tester', GCRSYNC_PASSWORD: 'not-the-password' });
    oneMessage(stderr, stoppedBecause, new RegExp(`${locked.host} refused the push \\(HTTP 401\\).*GCRSYNC_USERNAME and GCRSYNC_PASSWORD`));
    assert.doesNotMatch(stderr, /not-the-password/);
  });

  it('a read-only target (405): one message saying it takes no pushes', async () => {
    const { stderr, stoppedBecause } = await failFast(readOnly.host, {});
    oneMessage(stderr, stoppedBecause, new RegExp(`${readOnly.host} does not accept pushes \\(HTTP 405`));
  });

  it('an unreachable target: one message naming host and port', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const { stderr, stoppedBecause } = await failFast(host, {});
    oneMessage(stderr, stoppedBecause, new RegExp(`${host} cannot be reached \\(ECONNREFUSED\\)`));
  });

  it('no Docker daemon for --transport docker: one message naming DOCKER_HOST and the way out', async () => {
    const socket = `unix://${await tempDir('no-daemon')}/docker.sock`;
    const { stderr, stoppedBecause } = await failFast(scene.target.host, { DOCKER_HOST: socket }, ['--transport', 'docker']);
    oneMessage(stderr, stoppedBecause, new RegExp(`no Docker daemon answers at ${socket.replaceAll('/', '\\/')} \\(ENOENT\\).*--transport registry`));
  });
});
