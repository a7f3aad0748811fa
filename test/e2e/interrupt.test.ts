import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { listRecords, parseMetadata } from '../../src/store/schema.js';
import { startGateProxy, type GateProxy } from '../support/gate-proxy.js';
import { bareRemote, pushByHand, type BareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI as a child whose stdout the test reads, or closes at once (`closeStdout`: the reader went away). */
function start(args: string[], env: Record<string, string>, options: { closeStdout?: boolean; closeStderr?: boolean } = {}) {
  const child = spawn(process.execPath, [entry, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1', DOCKER_CONFIG: '/nonexistent/gcrsync-test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.on('data', (chunk) => (stdout += chunk));
  if (options.closeStderr) child.stderr.destroy();
  else child.stderr.on('data', (chunk) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, finished };
}

const IMAGES = Array.from({ length: 8 }, (_, i) => ({ repository: `ns/repo${i}`, tag: 'v1' }));

/**
 * Ctrl-C and SIGTERM in the middle of a sync: images not started stay for the next run, the one in flight is
 * abandoned, and what was verified is committed and pushed before the command exits 130 / 143. The run is caught
 * at an exact point (a gate holds the fifth manifest push), so nothing here depends on the machine's speed.
 */
describe('interrupts and closed pipes (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const image of IMAGES) await pushTestImage(upstream, image.repository, image.tag);
    },
  });
  const metadataFile = () => `metadata/${scene.source.host.replace(':', '_')}/ns.json`;
  let gate: GateProxy | undefined;
  afterEach(async () => {
    await gate?.stop();
    gate = undefined;
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} after 4 verified images commits and pushes those 4, abandons the fifth, starts no more, exits ${code}`, async () => {
      let manifestPuts = 0;
      gate = await startGateProxy(scene.target.url, (req) => req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && ++manifestPuts > 4);
      const remote = await bareRemote();
      const prefix = `stop-${signal.toLowerCase()}`;
      const run = start(
        ['sync', '--source', `${scene.source.host}/ns`, '--target', `${gate.host}/${prefix}`, '--metadata-repo', remote.url, '--concurrency', '1', '--json'],
        {},
      );
      await gate.held;
      run.child.kill(signal);
      const result = await run.finished;
      assert.equal(result.code, code, result.stderr);
      const report = JSON.parse(result.stdout) as { stoppedBecause?: string; outcomes: Array<{ status: string }> };
      assert.equal(report.stoppedBecause, 'interrupted');
      assert.equal(report.outcomes.filter((o) => o.status === 'synced').length, 4);
      assert.equal(report.outcomes.filter((o) => o.status === 'skipped').length, IMAGES.length - 4, 'the one in flight and the ones not started');
      assert.equal(report.outcomes.filter((o) => o.status === 'failed').length, 0);
      const records = listRecords(parseMetadata(await remote.show(metadataFile()), metadataFile()));
      assert.equal(records.length, 4, 'the verified images are committed and pushed');
      for (const { repository, tag, record } of records) {
        assert.equal(await headDigest(scene.target, `${prefix}/${repository}`, tag), record.digest);
      }
    });
  }

  /** A metadata remote with many records, so `list` writes far more than a pipe holds. */
  async function bigMetadata(): Promise<BareRemote> {
    const remote = await bareRemote();
    const images: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < 3000; i++) {
      images[`repo${i}`] = { v1: { digest: `sha256:${'a'.repeat(64)}`, target: `mirror.example.com/m/repo${i}:v1`, syncedAt: '2026-01-01T00:00:00.000Z' } };
    }
    await pushByHand(remote, { 'metadata/gcr.io/ns.json': JSON.stringify({ source: 'gcr.io/ns', target: 'mirror.example.com/m', images }) });
    return remote;
  }

  it('`list | head -1` ends quietly with exit 0 and leaves no temp clone', async () => {
    const remote = await bigMetadata();
    const tmp = await tempDir('epipe-tmp');
    const child = spawn('bash', ['-c', `node ${JSON.stringify(entry)} list --metadata-repo ${JSON.stringify(remote.url)} | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1', TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stdout.trim().split('\n').length, 1);
    assert.match(stdout, /gcr\.io\/ns\/repo/);
    assert.match(stderr, /exit=0$/m, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|at .*\.js:\d+/, 'no crash');
    assert.deepEqual(await readdir(tmp), [], 'the temp clone is removed');
  });

  it('a sync with stdout and stderr closed (`2>&1 | head`) copies, commits and pushes everything and exits 0', async () => {
    const remote = await bareRemote();
    const run = start(['sync', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/closed`, '--metadata-repo', remote.url], {}, { closeStdout: true, closeStderr: true });
    const result = await run.finished;
    assert.equal(result.code, 0);
    const records = listRecords(parseMetadata(await remote.show(metadataFile()), metadataFile()));
    assert.equal(records.length, IMAGES.length);
    for (const image of IMAGES) assert.ok(await headDigest(scene.target, `closed/${image.repository.replace(/^ns\//, '')}`, image.tag), `${image.repository} at the target`);
  });

  it('`test` with its stdout closed ends quietly with exit 0 and leaves no temp clone', async () => {
    const remote = await bareRemote();
    const tmp = await tempDir('epipe-tmp');
    const run = start(['test', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/x`, '--metadata-repo', remote.url], { TMPDIR: tmp }, { closeStdout: true });
    const result = await run.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /EPIPE|Unhandled|at .*\.js:\d+/, 'no crash');
    assert.deepEqual(await readdir(tmp), [], 'the temp clone is removed');
  });
});
