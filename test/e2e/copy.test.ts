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
    assert.equal(await headDigest(target, 'google_containers/coredns', 'v1.11.1'), digests.get('porter/sub/coredns:v1.11.1'), 'filters do not apply to a named image');
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
    assert.equal(await headDigest(target, 'exact/place/pause', '3.9'), digests.get('porter/pause:3.9'));
    const json = JSON.parse(await remote.show(metadataPath('porter')));
    assert.equal(json.images.pause['3.9'].target, `${target.host}/exact/place/pause:3.9`);
  });

  it('takes latest when SRC has no tag, and names a missing image with exit 1 and nothing committed', async () => {
    const remote = await bareRemote();
    const dir = await tempDir('copy');
    const ok = await runCli(['copy', `${source.host}/loose/thing`, '--target', `${target.host}/loose`, '--metadata-repo', remote.url], { cwd: dir, env: env() });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(await headDigest(target, 'loose/thing', 'latest'));
    const head = await remote.head();
    const missing = await runCli(['copy', `${source.host}/porter/pause:9.9`, '--target', `${target.host}/loose`, '--metadata-repo', remote.url], {
      cwd: dir,
      env: env(),
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stdout + missing.stderr, new RegExp(`${source.host}/porter/pause:9\\.9`));
    assert.match(missing.stdout + missing.stderr, /NOT_FOUND/);
    // copy has no image list: the message says what is wrong with SRC
    assert.match(missing.stdout + missing.stderr, new RegExp(`${source.host}/porter/pause:9\\.9 does not exist at the source registry`));
    assert.doesNotMatch(missing.stdout + missing.stderr, /image list/);
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

/**
 * The porter workflow's own shell steps, run with bash as Actions would run them (`bash -e`), with a stub `gh`
 * that records what it was asked to do: the issue title is hostile input and must never reach a shell as code.
 */
describe('porter workflow steps (bash)', function () {
  this.timeout(30_000);

  interface Step {
    name?: string;
    run?: string;
  }
  async function step(name: string): Promise<string> {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const workflow = parse(await readFile(new URL('../../.github/workflows/porter.yml', import.meta.url), 'utf8')) as { jobs: { copy: { steps: Step[] } } };
    const found = workflow.jobs.copy.steps.find((s) => s.name === name);
    assert.ok(found?.run, `step ${name}`);
    return found.run;
  }
  async function bash(script: string, env: Record<string, string>): Promise<{ code: number; outputs: Record<string, string>; dir: string; stderr: string }> {
    const { spawn } = await import('node:child_process');
    const { readFile, chmod } = await import('node:fs/promises');
    const dir = await tempDir('porter');
    const output = join(dir, 'output');
    await writeFile(output, '');
    // a stub gh: records its argv and the comment body
    await writeFile(join(dir, 'gh'), '#!/bin/sh\nprintf "%s\\n" "$*" >> "$GH_LOG"\nif [ "$1 $2" = "issue comment" ]; then cp "$5" "$GH_LOG.body"; fi\n');
    await chmod(join(dir, 'gh'), 0o755);
    const child = spawn('bash', ['-e', '-c', script], {
      env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: output, RUNNER_TEMP: dir, GH_LOG: join(dir, 'gh.log'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    const outputs = Object.fromEntries(
      (await readFile(output, 'utf8'))
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { code, outputs, dir, stderr };
  }
  const allowed = 'docker.io registry.k8s.io quay.io';

  it('reads the image from the title and refuses anything else without running it', async () => {
    const script = await step('read the image from the issue title');
    const cases: Array<[string, Record<string, string>]> = [
      ['[PORTER]registry.k8s.io/pause:3.9', { ref: 'registry.k8s.io/pause:3.9' }],
      ['[PORTER] quay.io/calico/node:v3.27.0 ', { ref: 'quay.io/calico/node:v3.27.0' }],
      ['[PORTER]nginx:1.25', { ref: 'nginx:1.25' }],
      ['[PORTER]gcr.io/distroless/static:latest', { reason: 'registry gcr.io is not one this mirror copies from (docker.io registry.k8s.io quay.io)' }],
      ['[PORTER]$(touch /tmp/porter-pwned)', { reason: 'the title after [PORTER] is not an image reference such as registry.k8s.io/pause:3.9' }],
      ['[PORTER]nginx:1.25;id', { reason: 'the title after [PORTER] is not an image reference such as registry.k8s.io/pause:3.9' }],
      ['[PORTER]quay.io/x:`id`', { reason: 'the title after [PORTER] is not an image reference such as registry.k8s.io/pause:3.9' }],
    ];
    for (const [title, expected] of cases) {
      const result = await bash(script, { TITLE: title, ALLOWED: allowed });
      assert.equal(result.code, 0, `${title}: ${result.stderr}`);
      assert.deepEqual(result.outputs, expected, title);
    }
    await assert.rejects(import('node:fs/promises').then((fs) => fs.access('/tmp/porter-pwned')));
  });

  it('comments the copied image and closes the issue as completed; a failure closes it as not planned', async () => {
    const script = await step('comment and close');
    const env = { ISSUE: '42', IMAGE: 'registry.k8s.io/pause:3.9', RUN_URL: 'https://example.invalid/run/1' };
    const ok = await bash(`cat > "$RUNNER_TEMP/report.json" <<'J'
{"upToDate":0,"planned":[{"target":"r.example.com/m/pause:3.9"}],"outcomes":[{"status":"synced","target":"r.example.com/m/pause:3.9","targetDigest":"sha256:abc","platforms":["linux/amd64"]}],"problems":[]}
J
${script}`, { ...env, STATUS: '0', REJECTED: '' });
    assert.equal(ok.code, 0, ok.stderr);
    const { readFile } = await import('node:fs/promises');
    assert.match(await readFile(join(ok.dir, 'gh.log.body'), 'utf8'), /Copied `registry\.k8s\.io\/pause:3\.9` to `r\.example\.com\/m\/pause:3\.9`[\s\S]*docker pull r\.example\.com\/m\/pause:3\.9/);
    assert.match(await readFile(join(ok.dir, 'gh.log'), 'utf8'), /^issue close 42 --reason completed$/m);

    const failed = await bash(`cat > "$RUNNER_TEMP/report.json" <<'J'
{"upToDate":0,"planned":[{"target":"r.example.com/m/pause:3.9"}],"outcomes":[{"status":"failed","target":"r.example.com/m/pause:3.9","error":"AUTH: denied \`x\`"}],"problems":[]}
J
${script}`, { ...env, STATUS: '1', REJECTED: '' });
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(await readFile(join(failed.dir, 'gh.log.body'), 'utf8'), /Could not copy `registry\.k8s\.io\/pause:3\.9` to `r\.example\.com\/m\/pause:3\.9`:\n\n```\nAUTH: denied 'x'\n```/);
    assert.match(await readFile(join(failed.dir, 'gh.log'), 'utf8'), /^issue close 42 --reason not planned$/m);

    const rejected = await bash(script, { ...env, IMAGE: '', STATUS: '', REJECTED: 'registry gcr.io is not one this mirror copies from' });
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(await readFile(join(rejected.dir, 'gh.log.body'), 'utf8'), /^Not copied: registry gcr\.io is not one this mirror copies from\./);
  });
});
