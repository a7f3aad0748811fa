import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { listRecords, parseMetadata, type NamespaceMetadata } from '../../src/store/schema.js';
import { runCli } from '../support/cli.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { bareRemote, git, type BareRemote } from '../support/git.js';
import { headDigest, pushTestImage, type RegistryEndpoint } from '../support/images.js';
import type { TestRegistry } from '../support/registry.js';
import { startGateProxy } from '../support/gate-proxy.js';
import { useSyncScene } from '../support/sync-scene.js';

/** An auth-less test registry as the image helpers address it. */
const plain = (registry: TestRegistry): RegistryEndpoint => ({ url: registry.url });

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

/** Seeded uniform numbers in [0, 1): the kill moments are the same on every run of the suite. */
function seededRandom(seed: string): () => number {
  let counter = 0;
  return () => createHash('sha256').update(`${seed}#${counter++}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Starts the built CLI and SIGKILLs it once `when` says so, unless it ended before: when a promise settles (a held
 * request), or `afterMs` after stderr first matches `clockStartsOn` (so a slow start does not eat the time meant
 * for copying).
 */
function runAndKill(
  args: string[],
  when: { settled: Promise<unknown> } | { afterMs: number; clockStartsOn: RegExp },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1', DOCKER_CONFIG: '/nonexistent/gcrsync-test' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (!ended) child.kill('SIGKILL');
    };
    if ('settled' in when) void when.settled.then(kill);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if ('afterMs' in when && when.clockStartsOn.test(stderr)) timer ??= setTimeout(kill, when.afterMs);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

const IMAGES = Array.from({ length: 24 }, (_, i) => ({ repository: `ns/repo${i % 8}`, tag: `v${Math.floor(i / 8)}` }));

/**
 * Crash safety through the built CLI: a sync is SIGKILLed at seeded random moments, over and over. After every
 * kill the metadata on the remote lists only images the target really has (with the recorded digest), the
 * remote's history only moved forward and kept every CHANGELOG section, and the next run picks up where the
 * last checkpoint left off until a final run completes.
 */
describe('crash safety, checkpoints and --max-duration (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const image of IMAGES) await pushTestImage(upstream, image.repository, image.tag, { layerBytes: 192 * 1024, sharedLayer: 'crash-base' });
    },
    front: { cacheListings: true },
  });

  const metadataFile = () => `metadata/${scene.source.host.replace(':', '_')}/ns.json`;
  const syncArgs = (remote: BareRemote, targetHost: string, prefix: string, extra: string[]) => [
    'sync',
    '--source', `${scene.source.host}/ns`,
    '--target', `${targetHost}/${prefix}`,
    '--metadata-repo', remote.url,
    '--transport', 'registry',
    ...extra,
  ];

  async function committedMetadata(remote: BareRemote): Promise<NamespaceMetadata | undefined> {
    const files = await git(remote.path, 'ls-tree', '-r', '--name-only', 'main');
    if (!files.split('\n').includes(metadataFile())) return undefined;
    return parseMetadata(await remote.show(metadataFile()), metadataFile());
  }

  /** The invariant: every committed record is at the target with the recorded (source) digest. */
  async function checkRecordsAtTarget(remote: BareRemote, prefix: string, targetHost = scene.target.host): Promise<number> {
    const metadata = await committedMetadata(remote);
    if (metadata === undefined) return 0;
    const records = listRecords(metadata);
    for (const { repository, tag, record } of records) {
      assert.equal(record.target, `${targetHost}/${prefix}/${repository}:${tag}`);
      const atTarget = await headDigest(plain(scene.target), `${prefix}/${repository}`, tag);
      assert.equal(atTarget, record.digest, `recorded ${repository}:${tag} must be at the target with its digest`);
    }
    return records.length;
  }

  /** The remote only moved forward (no force push) and the old CHANGELOG is still there, below the new sections. */
  async function checkHistoryKept(remote: BareRemote, before: { head: string; changelog: string }): Promise<{ head: string; changelog: string }> {
    const head = (await remote.head())!;
    await git(remote.path, 'merge-base', '--is-ancestor', before.head, head);
    const merges = await git(remote.path, 'rev-list', '--min-parents=2', 'main');
    assert.equal(merges, '', 'history stays linear');
    const files = await git(remote.path, 'ls-tree', '-r', '--name-only', 'main');
    const changelog = files.split('\n').includes('CHANGELOG.md') ? await remote.show('CHANGELOG.md') : '';
    // everything below the `# CHANGELOG` header stays, byte for byte, below the newer sections
    const sections = (text: string) => text.replace(/^# CHANGELOG\s*/, '');
    assert.ok(sections(changelog).endsWith(sections(before.changelog)), 'no CHANGELOG section was lost or rewritten');
    assert.ok(sections(changelog).split(/^## /m).length >= sections(before.changelog).split(/^## /m).length);
    return { head, changelog };
  }

  it('killed runs keep the progress of their checkpoints, and random kill -9 never records an image the target lacks', async function () {
    // some thirty runs of the CLI: a busy machine needs more than the block's timeout, which no assertion depends on
    this.timeout(400_000);
    const remote = await bareRemote();
    const prefix = 'crash';
    // every run goes through one gate, so every run sees the same target name; `allowance` manifest pushes pass
    let allowance = Number.POSITIVE_INFINITY;
    const gate = await startGateProxy(scene.target.url, (req) => req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && allowance-- <= 0);
    try {
      let state = { head: (await remote.head())!, changelog: '' };

      // Checkpoints by count: with one image at a time and a checkpoint after each, the run is caught holding its
      // fourth manifest push, so three images are verified and committed, whatever the machine's speed.
      const step = 3;
      for (let round = 1; round <= 3; round++) {
        allowance = step;
        const held = gate.nextHeld();
        const run = runAndKill(syncArgs(remote, gate.host, prefix, ['--checkpoint-every', '1', '--concurrency', '1']), { settled: held });
        const { signal } = await run;
        assert.equal(signal, 'SIGKILL');
        assert.equal(await checkRecordsAtTarget(remote, prefix, gate.host), round * step, `round ${round}: every checkpoint before the kill is on the remote`);
        state = await checkHistoryKept(remote, state);
      }

      // kill -9 at seeded random moments: whatever the timing, the remote only ever records what the target holds
      allowance = Number.POSITIVE_INFINITY;
      const random = seededRandom('gcrsync crash test');
      let recordedBefore = await checkRecordsAtTarget(remote, prefix, gate.host);
      const figures = { kills: 0, exitedByThemselves: 0, checks: 0 };
      for (let i = 0; i < 6; i++) {
        const run = await runAndKill(syncArgs(remote, gate.host, prefix, ['--checkpoint-every', '1', '--concurrency', '3']), {
          afterMs: Math.floor(random() * 1500),
          clockStartsOn: /\d+ to copy/,
        });
        if (run.signal === 'SIGKILL') figures.kills++;
        else {
          figures.exitedByThemselves++;
          assert.equal(run.code, 0, run.stderr);
        }
        const recorded = await checkRecordsAtTarget(remote, prefix, gate.host);
        figures.checks += recorded;
        assert.ok(recorded >= recordedBefore, `progress is kept (${recorded} recorded, ${recordedBefore} before)`);
        recordedBefore = recorded;
        state = await checkHistoryKept(remote, state);
      }

      const final = await runCli(syncArgs(remote, gate.host, prefix, ['--json']), { env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' } });
      assert.equal(final.code, 0, final.stderr);
      assert.equal(await checkRecordsAtTarget(remote, prefix, gate.host), IMAGES.length);
      state = await checkHistoryKept(remote, state);
      for (const image of IMAGES) {
        assert.equal(await headDigest(plain(scene.target), `${prefix}/${image.repository.slice(3)}`, image.tag), await headDigest(plain(scene.upstream), image.repository, image.tag));
      }
      const noop = await runCli(syncArgs(remote, gate.host, prefix, ['--verify']), { env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' } });
      assert.equal(noop.code, 0, noop.stderr);
      assert.equal(await remote.head(), state.head, 'the converged state needs no further commit');
      console.log(
        `      crash: 3 kills caught at a checkpoint kept ${3 * step} images; ${figures.kills} random kill -9 survived, ` +
          `${figures.exitedByThemselves} runs ended by themselves, ${figures.checks} record checks after kills, ${IMAGES.length} images verified after the final run`,
      );
    } finally {
      await gate.stop();
    }
  });

  describe('run limits', () => {
    let slowTarget: FaultProxy;
    before(async () => {
      // every target request waits 100 ms: images take long enough for deadlines and intervals to bite
      slowTarget = await startFaultProxy(scene.target.url, { seed: 'slow', rate: 1, kinds: ['slow'], slowMs: 100 });
    });
    after(async () => slowTarget?.stop());

    it('--max-duration stops starting images, finishes those in flight, commits them and exits 0', async () => {
      const remote = await bareRemote();
      const prefix = 'deadline';
      const args = syncArgs(remote, slowTarget.host, prefix, ['--max-duration', '1500ms', '--concurrency', '2', '--json']);
      const first = await runCli(args, { env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' } });
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout) as {
        stoppedBecause?: string;
        outcomes: Array<{ status: string; source: string }>;
        commit?: { committed: boolean };
      };
      const synced = report.outcomes.filter((o) => o.status === 'synced');
      const skipped = report.outcomes.filter((o) => o.status === 'skipped');
      assert.match(report.stoppedBecause ?? '', /max-duration/);
      assert.match(first.stderr, /starting no more images/);
      assert.ok(synced.length >= 1, 'images started before the deadline were finished');
      assert.ok(skipped.length >= 1, 'images after the deadline were left for the next run');
      assert.equal(report.outcomes.filter((o) => o.status === 'failed').length, 0, 'nothing in flight was cut off');
      assert.equal(synced.length + skipped.length, IMAGES.length);
      const metadata = await committedMetadata(remote);
      const recorded = listRecords(metadata!).map((r) => `${scene.source.host}/ns/${r.repository}:${r.tag}`).sort();
      assert.deepEqual(recorded, synced.map((o) => o.source).sort(), 'exactly the finished images are committed');
      assert.equal(await checkRecordsAtTarget(remote, prefix, slowTarget.host), synced.length);

      // the next job carries on where this one stopped
      const second = await runCli(syncArgs(remote, slowTarget.host, prefix, ['--json']), { env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' } });
      assert.equal(second.code, 0, second.stderr);
      const next = JSON.parse(second.stdout) as { upToDate: number; outcomes: Array<{ status: string }> };
      assert.equal(next.upToDate, synced.length);
      assert.equal(next.outcomes.filter((o) => o.status === 'synced').length, skipped.length);
      assert.equal(await checkRecordsAtTarget(remote, prefix, slowTarget.host), IMAGES.length);
      console.log(`      max-duration: ${synced.length} finished and committed before the deadline, ${skipped.length} left for the next run`);
    });

    it('--checkpoint-every N commits every N verified images; a duration commits on a timer', async () => {
      const remote = await bareRemote();
      const before = (await remote.head())!;
      const byCount = await runCli(syncArgs(remote, scene.target.host, 'every5', ['--checkpoint-every', '5', '--concurrency', '4', '--json']), {
        env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' },
      });
      assert.equal(byCount.code, 0, byCount.stderr);
      const report = JSON.parse(byCount.stdout) as { commit: { commits: number } };
      const commits = (await git(remote.path, 'rev-list', `${before}..main`)).split('\n').filter(Boolean);
      assert.equal(commits.length, Math.ceil(IMAGES.length / 5));
      assert.equal(report.commit.commits, commits.length);
      // each checkpoint added 5 records (the last one the rest), and each has its own CHANGELOG section
      const sizes: number[] = [];
      for (const commit of [...commits].reverse()) sizes.push(listRecords(parseMetadata(await remote.show(metadataFile(), commit), metadataFile())).length);
      assert.deepEqual(sizes, [5, 10, 15, 20, 24]);
      assert.equal((await remote.show('CHANGELOG.md')).match(/^## /gm)?.length, commits.length);

      const timed = await bareRemote();
      const timedBefore = (await timed.head())!;
      const byTime = await runCli(syncArgs(timed, slowTarget.host, 'timed', ['--checkpoint-every', '700ms', '--concurrency', '4', '--json']), {
        env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' },
      });
      assert.equal(byTime.code, 0, byTime.stderr);
      const timedCommits = (await git(timed.path, 'rev-list', `${timedBefore}..main`)).split('\n').filter(Boolean);
      assert.ok(timedCommits.length >= 2, `a run longer than the interval checkpoints on the way (${timedCommits.length} commits)`);
      assert.ok(timedCommits.length < IMAGES.length, 'but not after every image');
      console.log(`      checkpoints: ${commits.length} commits for ${IMAGES.length} images with --checkpoint-every 5, ${timedCommits.length} with 700ms`);
    });
  });
});
