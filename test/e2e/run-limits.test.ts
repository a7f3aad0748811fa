import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { hostileFront, type HostileFront } from '../support/hostile-front.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { sleep } from '../support/temp.js';

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
});
