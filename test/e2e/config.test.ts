import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, listTags, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

/** gcrsync.yaml through the built CLI: validate, run every job or one, precedence of flags and environment. */
describe('gcrsync with a config file (CLI, end to end)', function () {
  this.timeout(120_000);
  let source: TestRegistry;
  let target: TestRegistry;

  before(async () => {
    source = await startRegistry();
    target = await startRegistry();
    for (const [repository, tag] of [
      ['cfg-a/app', '1.0.0'],
      ['cfg-a/app', '1.1.0-rc.1'],
      ['cfg-b/tool', 'v2.0.0'],
      ['cfg-b/app', '1.0.0'],
    ] as const) {
      await pushTestImage(source, repository, tag);
    }
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  /** A working directory holding `gcrsync.yaml` with `text`. */
  async function project(text: string): Promise<string> {
    const dir = await tempDir('cfg');
    await writeFile(join(dir, 'gcrsync.yaml'), text);
    return dir;
  }
  const twoJobs = (remoteUrl: string, prefix: string) => `
defaults:
  target: ${target.host}/${prefix}
  metadataRepo: ${remoteUrl}
  filters: { exclude: ['-rc'] }
jobs:
  - name: alpha
    source: ${source.host}/cfg-a
    examples: [${source.host}/cfg-a/app:1.0.0, ${source.host}/cfg-a/app:1.1.0-rc.1]
  - name: beta
    source: ${source.host}/cfg-b
    naming: { template: "{namespace}/{path}", separator: "-" }
`;

  it('config validate prints each job and the mirror names of examples', async () => {
    const dir = await project(twoJobs('file:///nowhere.git', 'v'));
    const result = await runCli(['config', 'validate'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /gcrsync\.yaml: 2 jobs, valid/);
    assert.match(result.stdout, /^job alpha$/m);
    assert.match(result.stdout, /^ {2}shapes {5}schema1 recorded as not mirrorable; foreign layers left to their urls; referrers copied$/m);
    assert.match(result.stdout, new RegExp(`${source.host}/cfg-a/app:1\\.0\\.0 → ${target.host}/v/app:1\\.0\\.0\\n`));
    assert.match(result.stdout, new RegExp(`cfg-a/app:1\\.1\\.0-rc\\.1 → ${target.host}/v/app:1\\.1\\.0-rc\\.1  \\(dropped by the filters\\)`));
    assert.match(result.stdout, new RegExp(`${source.host}/cfg-b/sub/app:v1\\.0\\.0 → ${target.host}/v/cfg-b-sub-app:v1\\.0\\.0  \\(illustration\\)`));
    const json = await runCli(['config', 'validate', '--json'], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).jobs.map((j: { name: string }) => j.name), ['alpha', 'beta']);
  });

  it('config validate exits 2 on unknown keys and bad values, naming path and line:column', async () => {
    const dir = await project(`jobs:\n  - name: a\n    source: ${source.host}/cfg-a\n    targt: x\n    filters: { semver: ">=banana" }\n`);
    const result = await runCli(['config', 'validate'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CONFIG: .*gcrsync\.yaml is not valid/);
    assert.match(result.stderr, /gcrsync\.yaml:4:5 jobs\[0\]\.targt: unknown key/);
    // every problem of every job, each filter rule included
    const semantic = await project(
      `jobs:\n  - name: a\n    source: ${source.host}/cfg-a\n    target: x.example.com\n    filters: { semver: ">=banana", include: ["("] }\n` +
        `  - name: b\n    source: ${source.host}/cfg-b\n    target: x.example.com\n    naming: { template: "{nope}" }\n    platforms: [linux]\n`,
    );
    const bad = await runCli(['config', 'validate'], { cwd: semantic });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /is not valid \(4 problems\)/);
    assert.match(bad.stderr, /gcrsync\.yaml:5:14 jobs\[0\]\.filters: filters\.semver: ">=banana" is not a semver range/);
    assert.match(bad.stderr, /gcrsync\.yaml:5:14 jobs\[0\]\.filters: filters\.include: "\(" is not a regular expression/);
    assert.match(bad.stderr, /jobs\[1\]\.naming: naming template "\{nope\}"/);
    assert.match(bad.stderr, /jobs\[1\]\.platforms: platform "linux"/);
    const missing = await runCli(['config', 'validate', '--config', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*absent\.yaml: ENOENT/);
  });

  it('config validate lists the schema problems of one job and the semantic problems of the others in one run', async () => {
    const dir = await project(
      `jobs:\n  - name: a\n    source: ${source.host}/cfg-a\n    target: x.example.com\n    concurency: 4\n` +
        `  - name: b\n    source: ${source.host}/cfg-b\n    target: x.example.com/b\n    filters: { include: ["("] }\n` +
        `  - name: c\n    source: ${source.host}/cfg-b\n    target: x.example.com/c\n    naming: { template: "{nope}" }\n`,
    );
    const result = await runCli(['config', 'validate'], { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /is not valid \(3 problems\)/);
    assert.match(result.stderr, /gcrsync\.yaml:5:5 jobs\[0\]\.concurency: unknown key/);
    assert.match(result.stderr, /gcrsync\.yaml:9:14 jobs\[1\]\.filters: filters\.include: "\(" is not a regular expression/);
    assert.match(result.stderr, /gcrsync\.yaml:13:13 jobs\[2\]\.naming: naming template "\{nope\}"/);
  });

  it('sync with no flags runs every job; --job runs one', async () => {
    const remote = await bareRemote();
    const dir = await project(twoJobs(remote.url, 'all'));
    const one = await runCli(['sync', '--job', 'beta', '--json'], { cwd: dir });
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout).runs.map((r: { job: string }) => r.job), ['beta']);
    assert.equal(await headDigest(target, 'all/app', '1.0.0'), undefined, 'job alpha did not run');
    assert.ok(await headDigest(target, 'all/cfg-b-tool', 'v2.0.0'));

    const every = await runCli(['sync'], { cwd: dir });
    assert.equal(every.code, 0, every.stderr);
    assert.match(every.stdout, /^job alpha: sync/m);
    assert.match(every.stdout, /^job beta: sync/m);
    assert.deepEqual(await listTags(target, 'all/app'), ['1.0.0'], 'the -rc tag is filtered out');
    assert.match(await remote.show(`metadata/${source.host.replace(':', '_')}/cfg-a.json`), /"1\.0\.0"/);
  });

  it('lets GCRSYNC_* environment override the file and flags override the environment', async () => {
    const remote = await bareRemote();
    const dir = await project(twoJobs(remote.url, 'from-file'));
    const fromEnv = await runCli(['sync', '--job', 'alpha'], { cwd: dir, env: { GCRSYNC_TARGET: `${target.host}/from-env` } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.ok(await headDigest(target, 'from-env/app', '1.0.0'));
    assert.equal(await headDigest(target, 'from-file/app', '1.0.0'), undefined);
    const other = await bareRemote();
    const fromFlag = await runCli(['sync', '--job', 'alpha', '--target', `${target.host}/from-flag`, '--metadata-repo', other.url], {
      cwd: dir,
      env: { GCRSYNC_TARGET: `${target.host}/from-env2` },
    });
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    assert.ok(await headDigest(target, 'from-flag/app', '1.0.0'));
    assert.equal(await headDigest(target, 'from-env2/app', '1.0.0'), undefined);
  });

  it('exits 2 before copying anything when two jobs map sources to one target', async () => {
    const remote = await bareRemote();
    const head = await remote.head();
    const dir = await project(`
defaults:
  target: ${target.host}/clash
  metadataRepo: ${remote.url}
  naming: { template: "{repo}" }
jobs:
  - { name: a, source: ${source.host}/cfg-a }
  - { name: b, source: ${source.host}/cfg-b }
`);
    const result = await runCli(['sync'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${source.host}/cfg-a/app:1\\.0\\.0 \\(job a\\) and ${source.host}/cfg-b/app:1\\.0\\.0 \\(job b\\) both map to ${target.host}/clash/app:1\\.0\\.0`));
    assert.equal(await headDigest(target, 'clash/tool', 'v2.0.0'), undefined, 'nothing copied');
    assert.equal(await remote.head(), head);
  });
});
