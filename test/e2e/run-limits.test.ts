import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { endlessGoogleTree, hostileFront, type HostileFront } from '../support/hostile-front.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { terminate, track } from '../support/processes.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { sleep, waitFor } from '../support/temp.js';

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

/** Limits of a whole run against sources that take too long: --max-duration counts the listing too. */
describe('run limits (CLI, end to end)', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let target: TestRegistry;
  let slowListing: HostileFront;

  before(async () => {
    upstream = await startRegistry();
    target = await startRegistry();
    await pushTestImage({ url: upstream.url }, 'ns/app', 'v1');
    await pushTestImage({ url: upstream.url }, 'ns/tool', 'v1');
    // a source whose every listing answer takes 1.5 s: longer than the whole --max-duration below
    slowListing = await hostileFront(upstream.url, async (req) => {
      if (/\/tags\/list|\/_catalog/.test(req.url ?? '')) await sleep(1_500);
      return false;
    });
  });
  after(async () => {
    await slowListing?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  it('--max-duration counts from the start: a listing that outlasts it starts no image, commits nothing, exit 0', async () => {
    const remote = await bareRemote();
    const before = await remote.head();
    const result = await runCli(['sync', '--source', `${slowListing.host}/ns`, '--target', `${target.host}/limited`, '--metadata-repo', remote.url, '--max-duration', '1s', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { stoppedBecause?: string; outcomes: unknown[] };
    assert.match(report.stoppedBecause ?? '', /--max-duration reached while listing/);
    assert.deepEqual(report.outcomes, []);
    assert.equal(await headDigest({ url: target.url }, 'limited/app', 'v1'), undefined, 'nothing copied after the deadline');
    assert.equal(await headDigest({ url: target.url }, 'limited/tool', 'v1'), undefined, 'nothing copied after the deadline');
    assert.equal(await remote.head(), before, 'nothing committed');
  });

  it('--max-repositories and --max-tags bound a hostile listing: the run reports where it stopped, exit 1', async () => {
    const tree = await endlessGoogleTree(() => ({ child: Array.from({ length: 10 }, (_, i) => `c${i}`) }));
    // a catalog naming one repository whose tags/list pages never end
    const pages = await hostileFront(undefined, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://pages');
      if (url.pathname === '/v2/_catalog') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ repositories: ['ns/app'] }));
        return true;
      }
      if (url.pathname !== '/v2/ns/app/tags/list') return false;
      const n = Number(url.searchParams.get('page') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', link: `</v2/ns/app/tags/list?page=${n + 1}>; rel="next"` });
      res.end(JSON.stringify({ name: 'ns/app', tags: Array.from({ length: 100 }, (_, i) => `p${n}-${i}`) }));
      return true;
    });
    try {
      for (const [source, flags, problem] of [
        [tree.host, ['--max-repositories', '20'], /stopped at 20 repositories \(maxRepositories 20\)/],
        [pages.host, ['--max-tags', '500'], /tags of .*ns\/app: more than 500 entries across its pages/],
      ] as const) {
        const remote = await bareRemote();
        const result = await runCli(['sync', '--source', `${source}/ns`, '--target', `${target.host}/bounded`, '--metadata-repo', remote.url, '--json', ...flags]);
        assert.equal(result.code, 1, result.stderr);
        const report = JSON.parse(result.stdout) as { problems: Array<{ error: string }> };
        assert.ok(report.problems.some((p) => problem.test(p.error)), JSON.stringify(report.problems));
      }
      const bad = await runCli(['sync', '--source', `${pages.host}/ns`, '--target', `${target.host}/bounded`, '--max-tags', '0']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--max-tags must be a whole number of at least 1, got "0"/);
    } finally {
      await tree.stop();
      await pages.stop();
    }
  });

  it('SIGTERM during an endless Google walk stops the listing: the command ends as interrupted, nothing committed', async () => {
    // 40 children per node, every level: far more than the walk's limits would let it reach for minutes
    const tree = await endlessGoogleTree(() => ({ child: Array.from({ length: 40 }, (_, i) => `c${i}`) }));
    const remote = await bareRemote();
    const before = await remote.head();
    try {
      const child = spawn(process.execPath, [entry, 'sync', '--source', `${tree.host}/ns`, '--target', `${target.host}/term`, '--metadata-repo', remote.url], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      track({ name: 'gcrsync sync (SIGTERM)', stop: () => terminate(child), kill: () => child.kill('SIGKILL') });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor(async () => tree.requests.length >= 50, 30_000, () => `the walk did not start:\n${stderr}`);
      child.kill('SIGTERM');
      const code = await exited;
      assert.ok(code === 130 || code === 143, `exit ${code}:\n${stderr}`);
      assert.match(stderr, /interrupted|terminated|cancelled/);
      assert.equal(await remote.head(), before, 'nothing committed');
    } finally {
      await tree.stop();
    }
  });
});
