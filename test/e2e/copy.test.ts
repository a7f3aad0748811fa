import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

/** `gcrsync copy SRC [DST]` through the built CLI: one image, the same naming rules, recorded like sync. */
describe('gcrsync copy (CLI, end to end)', function () {
  this.timeout(120_000);
  let source: TestRegistry;
  let target: TestRegistry;
  const digests = new Map<string, string>();

  before(async () => {
    source = await startRegistry();
    target = await startRegistry({ auth: 'htpasswd' });
    for (const [repository, tag] of [
      ['porter/pause', '3.9'],
      ['porter/sub/coredns', 'v1.11.1'],
      ['loose/thing', 'latest'],
    ] as const) {
      digests.set(`${repository}:${tag}`, (await pushTestImage(source, repository, tag)).digest);
    }
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  const targetEndpoint = () => ({ url: target.url, auth: target.credentials! });
  const env = () => ({ GCRSYNC_USERNAME: target.credentials!.username, GCRSYNC_PASSWORD: target.credentials!.password });
  const metadataPath = (namespace: string) => `metadata/${source.host.replace(':', '_')}/${namespace}.json`;

  it('copies one image through the rules of the job that holds it, records it in that namespace, and reruns as a no-op', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('copy');
    await writeFile(
      join(dir, 'gcrsync.yaml'),
      `
defaults:
  target: ${target.host}/defaults
  metadataRepo: ${remote.url}
jobs:
  - name: porter
    source: ${source.host}/porter
    target: ${target.host}/google_containers
    naming: { template: "{repo}" }
    filters: { include: ['^never$'] }
`,
    );
    const first = await runCli(['copy', `${source.host}/porter/sub/coredns:v1.11.1`, '--json'], { cwd: dir, env: env() });
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.deepEqual(report.outcomes.map((o: { status: string; target: string }) => [o.status, o.target]), [['synced', `${target.host}/google_containers/coredns:v1.11.1`]]);
    assert.equal(await headDigest(targetEndpoint(), 'google_containers/coredns', 'v1.11.1'), digests.get('porter/sub/coredns:v1.11.1'), 'filters do not apply to a named image');
    const json = JSON.parse(await remote.show(metadataPath('porter')));
    assert.equal(json.images['sub/coredns']['v1.11.1'].target, `${target.host}/google_containers/coredns:v1.11.1`);
    assert.match(await remote.show('CHANGELOG.md'), new RegExp(`${source.host}/porter/sub/coredns:v1\\.11\\.1`));

    const head = await remote.head();
    const again = await runCli(['copy', `${source.host}/porter/sub/coredns:v1.11.1`], { cwd: dir, env: env() });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /up to date\s+1/);
    assert.equal(await remote.head(), head, 'no commit for an image already mirrored');
  });

  it('copies to an exact DST without a config file, recording under the source namespace', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('copy');
    const result = await runCli(['copy', `${source.host}/porter/pause:3.9`, `${target.host}/exact/place/pause`, '--metadata-repo', remote.url], { cwd: dir, env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await headDigest(targetEndpoint(), 'exact/place/pause', '3.9'), digests.get('porter/pause:3.9'));
    const json = JSON.parse(await remote.show(metadataPath('porter')));
    assert.equal(json.images.pause['3.9'].target, `${target.host}/exact/place/pause:3.9`);
  });

  it('takes latest when SRC has no tag, and names a missing image with exit 1 and nothing committed', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('copy');
    const ok = await runCli(['copy', `${source.host}/loose/thing`, '--target', `${target.host}/loose`, '--metadata-repo', remote.url], { cwd: dir, env: env() });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(await headDigest(targetEndpoint(), 'loose/thing', 'latest'));
    const head = await remote.head();
    const missing = await runCli(['copy', `${source.host}/porter/pause:9.9`, '--target', `${target.host}/loose`, '--metadata-repo', remote.url], {
      cwd: dir,
      env: env(),
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stdout + missing.stderr, new RegExp(`${source.host}/porter/pause:9\\.9`));
    assert.match(missing.stdout + missing.stderr, /NOT_FOUND/);
    assert.equal(await remote.head(), head);
  });

  it('refuses a digest-only SRC and a malformed one with exit 2', async () => {
    const digestOnly = await runCli(['copy', `${source.host}/porter/pause@sha256:${'a'.repeat(64)}`, '--target', `${target.host}/x`]);
    assert.equal(digestOnly.code, 2);
    assert.match(digestOnly.stderr, /copy needs a tag/);
    const malformed = await runCli(['copy', 'Not/An/Image', '--target', `${target.host}/x`]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /Not\/An\/Image/);
  });
});
