import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage, tagManifest, type PushedImage } from '../support/images.js';
import { hubFront, type HubFront } from '../support/hub-front.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

/**
 * Docker Hub's budget through the built CLI (issue 12): a Hub stand-in (web API with the tags API, pull limit
 * headers, 429 when spent) in front of a real registry as the source, and another as the target. The listing comes
 * from the tags API without a manifest request; a multi-arch image is budgeted as 1 + its platforms; the target is
 * never asked for a manifest by GET (each would be a pull at a real Hub).
 */
describe('Docker Hub source and target (CLI, end to end)', function () {
  this.timeout(180_000);
  let upstream: TestRegistry;
  let downstream: TestRegistry;
  let source: HubFront;
  let target: HubFront;
  const images = new Map<string, PushedImage>();

  before(async () => {
    upstream = await startRegistry();
    downstream = await startRegistry();
    images.set('a:1', await pushTestImage(upstream, 'hubns/a', '1'));
    images.set('b:1', await pushTestImage(upstream, 'hubns/b', '1', { platforms: ['linux/amd64', 'linux/arm64'] }));
    images.set('c:1', await pushTestImage(upstream, 'hubns/c', '1'));
    await tagManifest(upstream, 'hubns/c', '1', '2');
    source = await hubFront(upstream, { pullLimit: 4 });
    target = await hubFront(downstream, { pullLimit: 100 });
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
    await upstream?.stop();
    await downstream?.stop();
  });

  it('lists through the tags API, budgets a multi-arch image as 1 + N pulls, and never GETs a manifest at the target', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('hub-e2e');
    const config = join(dir, 'gcrsync.yaml');
    await writeFile(
      config,
      ['jobs:', '  - name: hub', `    source: { namespace: ${source.host}/hubns, api: docker-hub }`, `    target: ${target.host}/mirror`, `    metadataRepo: ${remote.url}`, '    concurrency: 1', ''].join('\n'),
    );
    const run = await runCli(['sync', '--config', config, '--json'], {});
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout).runs[0].report;
    const status = Object.fromEntries(report.outcomes.map((o: { source: string; status: string }) => [o.source.split('/hubns/')[1], o.status]));
    // 4 pulls, 1 reserved for the image in flight: a spends 1 (3 left); b needs 3 (index + 2 platforms) and is not
    // started; c:1 spends 1; c:2 is at the target already and is tagged from the source's bytes (1 pull); no 429
    assert.deepEqual(status, { 'a:1': 'synced', 'b:1': 'skipped', 'c:1': 'synced', 'c:2': 'synced' });
    assert.match(report.stoppedBecause, /pull budget spent: 3 of 4 left \(reserve 1; the next image needs 3\)/);
    assert.equal(source.refused(), 0, 'no manifest GET ran into the limit');
    assert.equal(await headDigest(downstream, 'mirror/c', '2'), images.get('c:1')!.digest);
    assert.equal(await headDigest(downstream, 'mirror/b', '1'), undefined);

    assert.ok(!source.requests.some((line) => line.includes('/tags/list')), 'no registry tags/list');
    const listing = source.requests.filter((line) => line.includes('/tags'));
    assert.deepEqual(
      listing.sort(),
      ['a', 'b', 'c'].map((name) => `GET /v2/namespaces/hubns/repositories/${name}/tags?page_size=100`),
      'one tags API request per repository',
    );
    const manifestGets = target.requests.filter((line) => line.startsWith('GET ') && line.includes('/manifests/'));
    assert.deepEqual(manifestGets, [], 'no manifest GET at the Hub target');
    assert.equal(target.remaining(), 100);
  });
});
