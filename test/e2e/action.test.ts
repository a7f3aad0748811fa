import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runProgram, type CliResult } from '../support/cli.js';
import { bareRemote, git, pushByHand } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { repositoryRoot } from '../support/package.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

interface ActionYaml {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Array<{ id?: string; uses?: string; run?: string; shell?: string; env?: Record<string, string> }> };
}

/** `name=value` lines of a GITHUB_OUTPUT file (the script writes no multi-line values). */
function outputsOf(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * The GitHub Action: action.yml's wiring checked against its script, and the script (action/run.sh) run the way
 * the runner runs it, with the inputs as INPUT_* variables and GITHUB_OUTPUT / RUNNER_TEMP, against real registries.
 */
describe('GitHub Action (action.yml + action/run.sh)', function () {
  this.timeout(180_000);
  const images = [
    ['ns/app', 'v1'],
    ['ns/app', 'v2'],
    ['ns/sub/tool', '1.0'],
  ] as const;
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of images) await pushTestImage(upstream, repo, tag);
    },
    target: { auth: 'htpasswd' },
  });

  /** One step run: the runner's variables, the inputs, a fresh output file; the action's checkout is this one unless named. */
  async function runStep(
    inputs: Record<string, string>,
    cwd: string,
    actionDir = repositoryRoot,
    runnerTemp?: string,
  ): Promise<{ result: CliResult; outputs: Record<string, string> }> {
    runnerTemp ??= await tempDir('runner-temp');
    const outputFile = join(await mkdtemp(join(runnerTemp, 'step-')), 'github-output');
    await writeFile(outputFile, '');
    const env: Record<string, string> = { GITHUB_OUTPUT: outputFile, RUNNER_TEMP: runnerTemp };
    // npm ci of a fresh action checkout trusts what this machine's node is told to (an egress proxy's CA)
    if (process.env.NODE_EXTRA_CA_CERTS !== undefined) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase().replaceAll('-', '_')}`] = value;
    const result = await runProgram(join(actionDir, 'action', 'run.sh'), [], { cwd, env, timeoutMs: 300_000 });
    return { result, outputs: outputsOf(await readFile(outputFile, 'utf8')) };
  }

  it('action.yml: composite, Node set up, every input handed to the script, every output one the script writes', async () => {
    const action = parse(await readFile(join(repositoryRoot, 'action.yml'), 'utf8')) as ActionYaml;
    assert.equal(action.runs.using, 'composite');
    assert.match(action.runs.steps[0]!.uses ?? '', /^actions\/setup-node@v\d+$/);
    const step = action.runs.steps.find((s) => s.id === 'sync')!;
    assert.equal(step.run, '"$GITHUB_ACTION_PATH/action/run.sh"');
    assert.equal(step.shell, 'bash');
    const handed = Object.keys(action.inputs).filter((name) => name !== 'node-version');
    assert.deepEqual(
      Object.entries(step.env ?? {}).sort(),
      handed.map((name) => [`INPUT_${name.toUpperCase().replaceAll('-', '_')}`, `\${{ inputs.${name} }}`]).sort(),
    );
    for (const name of ['source', 'target', 'metadata-repo', 'config', 'job', 'transport', 'shard', 'max-duration']) assert.ok(name in action.inputs, name);
    const script = await readFile(join(repositoryRoot, 'action', 'run.sh'), 'utf8');
    for (const [name, output] of Object.entries(action.outputs)) {
      assert.equal(output.value, `\${{ steps.sync.outputs.${name} }}`);
      const counts = await readFile(join(repositoryRoot, 'action', 'counts.mjs'), 'utf8');
      assert.ok(script.includes(`echo "${name}=`) || counts.includes(`'${name}'`) || counts.includes(`  ${name}:`), `${name} is written`);
    }
  });

  it('the workflows that use the action (uses: ./ here, gcrsync/gcrsync@ elsewhere) pass only inputs it has', async () => {
    const action = parse(await readFile(join(repositoryRoot, 'action.yml'), 'utf8')) as ActionYaml;
    const workflowDir = join(repositoryRoot, '.github', 'workflows');
    const files = [...(await readdir(workflowDir)).map((f) => join(workflowDir, f)), join(repositoryRoot, 'examples', 'github-workflow.yml')];
    const users: string[] = [];
    for (const file of files) {
      const workflow = parse(await readFile(file, 'utf8')) as { jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }> };
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps.filter((s) => s.uses === './' || s.uses?.startsWith('gcrsync/gcrsync@'))) {
          users.push(file);
          const unknown = Object.keys(step.with ?? {}).filter((name) => !(name in action.inputs));
          assert.deepEqual(unknown, [], `${file}: inputs the action does not have`);
        }
      }
    }
    assert.deepEqual([...new Set(users)].map((f) => f.slice(repositoryRoot.length)).sort(), ['.github/workflows/sync-shards.yml', 'examples/github-workflow.yml']);
  });

  it('run.sh: two shards (1/2, 2/2) with source, target, metadata-repo, transport, max-duration and credentials mirror everything', async () => {
    const remote = await bareRemote();
    const inputs = {
      source: `${scene.source.host}/ns`,
      target: `${scene.target.host}/action`,
      'metadata-repo': remote.url,
      transport: 'registry',
      'max-duration': '10m',
      username: scene.target.credentials!.username,
      password: scene.target.credentials!.password,
    };
    // one runner's temp directory for both (a self-hosted runner, or jobs at once on one machine): each keeps its report
    const runnerTemp = await tempDir('runner-temp');
    const first = await runStep({ ...inputs, shard: '1/2' }, repositoryRoot, repositoryRoot, runnerTemp);
    assert.equal(first.result.code, 0, first.result.stderr);
    const second = await runStep({ ...inputs, shard: '2/2' }, repositoryRoot, repositoryRoot, runnerTemp);
    assert.equal(second.result.code, 0, second.result.stderr);
    assert.notEqual(first.outputs.report, second.outputs.report, 'a report path of its own per run');

    for (const step of [first, second]) {
      assert.equal(step.outputs['exit-code'], '0');
      assert.equal(step.outputs.failed, '0');
      assert.equal(step.outputs.problems, '0');
      const report = JSON.parse(await readFile(step.outputs.report!, 'utf8')) as { outcomes: Array<{ status: string }>; sourceTags: number };
      assert.equal(step.outputs.synced, String(report.outcomes.filter((o) => o.status === 'synced').length));
      assert.equal(step.outputs['source-tags'], String(report.sourceTags));
    }
    assert.equal(Number(first.outputs.synced) + Number(second.outputs.synced), images.length, 'the shards split the namespace');
    for (const [repo, tag] of images) {
      const mirrored = `action/${repo.slice('ns/'.length)}`;
      assert.equal(await headDigest(scene.target, mirrored, tag), await headDigest(scene.upstream, repo, tag), `${mirrored}:${tag}`);
    }
    const metadata = JSON.parse(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`));
    assert.deepEqual(Object.keys(metadata.images), ['app', 'sub/tool']);
    await remote.cleanup();
  });

  it('run.sh from a fresh checkout of the action (npm ci builds it): config and job in a checkout of the metadata repo (no metadata-repo input) commit and push in place; exit 1 and outputs on failure', async () => {
    const remote = await bareRemote();
    // a metadata repo made with `gcrsync init`: the action may use its checkout in place
    await pushByHand(remote, { '.gcrsync-metadata': 'gcrsync metadata\n' }, 'gcrsync init');
    const work = await tempDir('action-checkout');
    // what `uses: gcrsync/gcrsync@ref` checks out: the tracked files, no node_modules, no dist/
    const action = join(work, 'action');
    const tracked = (await git(repositoryRoot, 'ls-files', '-z')).split('\0').filter((f) => f !== '' && existsSync(join(repositoryRoot, f)));
    for (const file of tracked) await cp(join(repositoryRoot, file), join(action, file), { recursive: true });
    await git(work, 'clone', '--quiet', remote.url, 'repo');
    const checkout = join(work, 'repo');
    const config =
      `defaults:\n  target: ${scene.target.host}/cfg\n` +
      `jobs:\n  - name: wanted\n    source: ${scene.source.host}/ns\n    filters: { include: ['^v'] }\n` +
      `  - name: other\n    source: ${scene.source.host}/elsewhere\n`;
    await writeFile(join(work, 'gcrsync.yaml'), config);
    const auth = { username: scene.target.credentials!.username, password: scene.target.credentials!.password };

    const step = await runStep({ config: join(work, 'gcrsync.yaml'), job: 'wanted', ...auth }, checkout, action);
    assert.equal(step.result.code, 0, step.result.stderr);
    assert.ok(existsSync(join(action, 'dist', 'cmd', 'gcrsync.js')), 'the step built the action');
    assert.deepEqual({ ...step.outputs, report: undefined }, { report: undefined, 'exit-code': '0', 'source-tags': '2', 'up-to-date': '0', synced: '2', failed: '0', problems: '0' });
    assert.equal(await headDigest(scene.target, 'cfg/app', 'v2'), await headDigest(scene.upstream, 'ns/app', 'v2'));
    const metadata = JSON.parse(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`));
    assert.deepEqual(Object.keys(metadata.images.app).sort(), ['v1', 'v2']);

    // wrong credentials: every copy fails, the step fails with gcrsync's status, and the outputs still say why
    const elsewhere = await bareRemote();
    const untouched = await elsewhere.head();
    const failing = await runStep({ config: join(work, 'gcrsync.yaml'), job: 'wanted', 'metadata-repo': elsewhere.url, username: auth.username, password: 'wrong' }, checkout, action);
    assert.equal(failing.result.code, 1, failing.result.stderr);
    assert.equal(failing.outputs['exit-code'], '1');
    assert.equal(failing.outputs.failed, '2');
    assert.equal(failing.outputs.synced, '0');
    assert.equal(await elsewhere.head(), untouched, 'nothing verified, nothing committed');
    await rm(work, { recursive: true, force: true });
    await remote.cleanup();
    await elsewhere.cleanup();
  });
});
