import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseCheckpoint, parseDuration, parseShard } from '../../src/config/run-limits.js';
import { listRecords, parseMetadata } from '../../src/store/schema.js';
import { runCli } from '../support/cli.js';
import { bareRemote, git, type BareRemote } from '../support/git.js';
import { headDigest, pushTestImage, type RegistryEndpoint } from '../support/images.js';
import type { TestRegistry } from '../support/registry.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

/** An auth-less test registry as the image helpers address it. */
const plain = (registry: TestRegistry): RegistryEndpoint => ({ url: registry.url });

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

// 10 repositories, 2 tags each: enough that 3 shards all get some and sizes differ
const NS_IMAGES = Array.from({ length: 20 }, (_, i) => ({ repository: `ns/${i % 2 === 0 ? 'sub/' : ''}r${i % 10}`, tag: `t${Math.floor(i / 10)}` }));
const OTHER_IMAGES = [
  { repository: 'other/x', tag: '1' },
  { repository: 'other/y', tag: '1' },
];

interface Report {
  planned: Array<{ source: string }>;
  outcomes: Array<{ source: string; status: string }>;
}

/**
 * `--shard K/N` end to end: a stable partition by repository, N processes syncing their slices at the same time
 * into one metadata repo (plus another namespace's run racing them), and the example CronJob and GitHub
 * workflow that run shards.
 */
describe('shards and concurrent writers (CLI, end to end)', function () {
  this.timeout(180_000);
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const image of [...NS_IMAGES, ...OTHER_IMAGES]) await pushTestImage(upstream, image.repository, image.tag, { sharedLayer: 'shards' });
    },
    front: { cacheListings: true },
  });

  const env = { DOCKER_CONFIG: '/nonexistent/gcrsync-test' };
  const args = (command: string, namespace: string, remote: BareRemote, prefix: string, extra: string[] = []) => [
    command, '--source', `${scene.source.host}/${namespace}`, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url, '--json', ...extra,
  ];
  const repositoryOf = (reference: string) => reference.slice(0, reference.lastIndexOf(':'));
  const fileOf = (namespace: string) => `metadata/${scene.source.host.replace(':', '_')}/${namespace}.json`;

  it('partitions the repositories stably: disjoint, complete, whole repositories, the same on every run', async () => {
    const remote = await bareRemote();
    const plans: string[][] = [];
    for (let k = 1; k <= 3; k++) {
      const dry = await runCli(args('test', 'ns', remote, 'plan', ['--shard', `${k}/3`]), { env });
      assert.equal(dry.code, 0, dry.stderr);
      plans.push((JSON.parse(dry.stdout) as Report).planned.map((p) => p.source).sort());
    }
    const all = plans.flat();
    assert.equal(new Set(all).size, all.length, 'no image in two shards');
    assert.equal(all.length, NS_IMAGES.length, 'every image in some shard');
    for (const plan of plans) assert.ok(plan.length > 0, 'each shard has work');
    const shardOfRepository = new Map<string, number>();
    plans.forEach((plan, k) => {
      for (const image of plan) {
        const earlier = shardOfRepository.get(repositoryOf(image));
        assert.ok(earlier === undefined || earlier === k, `${repositoryOf(image)} is split over shards`);
        shardOfRepository.set(repositoryOf(image), k);
      }
    });
    const again = await runCli(args('test', 'ns', remote, 'plan', ['--shard', '2/3']), { env });
    assert.deepEqual((JSON.parse(again.stdout) as Report).planned.map((p) => p.source).sort(), plans[1]);
    console.log(`      shards: ${plans.map((p) => p.length).join(' + ')} = ${all.length} images over ${shardOfRepository.size} repositories`);
  });

  it('a shard\'s summary counts the tags of the other shards, so its numbers add up to the source tags', async () => {
    const remote = await bareRemote();
    const text = await runCli(args('sync', 'ns', remote, 'summed', ['--shard', '1/3']).filter((arg) => arg !== '--json'), { env });
    assert.equal(text.code, 0, text.stderr);
    const number = (label: string) => Number(new RegExp(`^  ${label} +(\\d+)$`, 'm').exec(text.stdout)?.[1] ?? NaN);
    assert.equal(number('source tags'), NS_IMAGES.length, text.stdout);
    assert.ok(number('other shards') > 0 && number('copied') > 0, text.stdout);
    assert.equal(number('up to date') + number('copied') + number('other shards'), number('source tags'), text.stdout);
    const json = await runCli(args('test', 'ns', remote, 'summed', ['--shard', '2/3']), { env });
    const report = JSON.parse(json.stdout) as Report & { upToDate: number; otherShards: number };
    assert.equal(report.upToDate + report.planned.length + report.otherShards, NS_IMAGES.length);
    assert.ok(report.otherShards > 0);
  });

  it('N shard processes and another namespace push one metadata repo at once: every entry lands, no force push, no lost section', async () => {
    const remote = await bareRemote();
    const before = (await remote.head())!;
    const prefix = 'sharded';
    const runs = await Promise.all([
      ...[1, 2, 3].map((k) => runCli(args('sync', 'ns', remote, prefix, ['--shard', `${k}/3`]), { env })),
      runCli(args('sync', 'other', remote, prefix), { env }),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const reports = runs.map((run) => JSON.parse(run.stdout) as Report);
    const copied = reports.slice(0, 3).map((r) => r.outcomes.filter((o) => o.status === 'synced').map((o) => o.source));
    assert.equal(copied.flat().length, NS_IMAGES.length, 'the shards together copied the namespace once');

    // all entries of both namespaces landed
    const ns = listRecords(parseMetadata(await remote.show(fileOf('ns')), fileOf('ns')));
    assert.equal(ns.length, NS_IMAGES.length);
    for (const { repository, tag, record } of ns) {
      assert.equal(await headDigest(plain(scene.target), `${prefix}/${repository}`, tag), record.digest);
      assert.equal(record.digest, await headDigest(plain(scene.upstream), `ns/${repository}`, tag));
    }
    const other = listRecords(parseMetadata(await remote.show(fileOf('other')), fileOf('other')));
    assert.deepEqual(other.map((r) => `${r.repository}:${r.tag}`).sort(), ['x:1', 'y:1']);

    // history: only fast-forwards on top of the old head, one commit per run, no merge commits
    const commits = (await git(remote.path, 'rev-list', '--parents', `${before}..main`)).split('\n').filter(Boolean);
    assert.equal(commits.length, 4, 'one commit per process');
    for (const line of commits) assert.equal(line.split(' ').length, 2, 'no merge commits');
    await git(remote.path, 'merge-base', '--is-ancestor', before, 'main');

    // one CHANGELOG section per process, each listing exactly what that process copied
    const changelog = await remote.show('CHANGELOG.md');
    const sections = changelog.split(/^## /m).slice(1);
    assert.equal(sections.length, 4);
    for (const [i, images] of [...copied, reports[3]!.outcomes.map((o) => o.source)].entries()) {
      const section = sections.find((s) => images.every((image) => s.includes(`\`${image}\``)));
      assert.ok(section, `run ${i + 1} has a section listing its ${images.length} images`);
      assert.equal(section.match(/^- /gm)?.length, images.length);
    }
    console.log(`      concurrent: 4 processes, ${commits.length} linear commits, ${ns.length + other.length} entries landed`);
  });

  it('two processes syncing the same namespace at once both finish and the JSON holds every entry once', async () => {
    const remote = await bareRemote();
    const before = (await remote.head())!;
    const runs = await Promise.all([1, 2].map(() => runCli(args('sync', 'other', remote, 'twice'), { env })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const other = listRecords(parseMetadata(await remote.show(fileOf('other')), fileOf('other')));
    assert.deepEqual(other.map((r) => `${r.repository}:${r.tag}`).sort(), ['x:1', 'y:1']);
    const commits = (await git(remote.path, 'rev-list', '--parents', `${before}..main`)).split('\n').filter(Boolean);
    assert.ok(commits.length >= 1 && commits.length <= 2);
    for (const line of commits) assert.equal(line.split(' ').length, 2, 'no merge commits');
  });

  describe('shipped examples', () => {
    const knownSyncFlags = async (): Promise<Set<string>> => {
      const help = await runCli(['sync', '--help']);
      return new Set([...help.stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!));
    };
    const checkSyncArgs = (argv: string[], flags: Set<string>, shard: string) => {
      const sync = argv.indexOf('sync');
      assert.ok(sync >= 0, `runs gcrsync sync: ${argv.join(' ')}`);
      const options = argv.slice(sync + 1);
      for (const option of options.filter((a) => a.startsWith('--'))) assert.ok(flags.has(option), `${option} is a flag of gcrsync sync`);
      const value = (flag: string) => options[options.indexOf(flag) + 1]!;
      assert.equal(value('--shard'), shard);
      parseShard(value('--shard'));
      assert.ok(parseDuration('max-duration', value('--max-duration')) > 0);
      parseCheckpoint(value('--checkpoint-every'));
      return { maxDurationMs: parseDuration('max-duration', value('--max-duration')) };
    };

    it('the Kubernetes CronJob runs an Indexed Job whose pods get shards 1/N … N/N, ending before the deadline', async () => {
      const cronJob = parseYaml(await readFile(join(repoRoot, 'examples/kubernetes-cronjob.yaml'), 'utf8'));
      assert.equal(cronJob.kind, 'CronJob');
      const job = cronJob.spec.jobTemplate.spec;
      assert.equal(job.completionMode, 'Indexed');
      assert.equal(job.completions, job.parallelism);
      const container = job.template.spec.containers[0];
      const shards = Number(container.env.find((e: { name: string }) => e.name === 'SHARDS').value);
      assert.equal(shards, job.completions);
      for (const secret of ['GCRSYNC_PASSWORD', 'METADATA_REPO_TOKEN']) {
        assert.ok(container.env.find((e: { name: string; valueFrom?: unknown }) => e.name === secret)?.valueFrom, `${secret} comes from a Secret`);
      }

      // the image of the repository's Dockerfile, whose PATH has gcrsync
      assert.match(container.image, /\/gcrsync:\d+\.\d+\.\d+$/);
      // run the pod's shell script for each completion index, with a stand-in gcrsync that prints its arguments
      const dir = await tempDir('cronjob');
      const bin = join(dir, 'bin');
      await execFileAsync('mkdir', ['-p', bin]);
      await writeFile(join(bin, 'gcrsync'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
      await chmod(join(bin, 'gcrsync'), 0o755);
      const flags = await knownSyncFlags();
      for (let index = 0; index < shards; index++) {
        const { stdout } = await execFileAsync(container.command[0], [...container.command.slice(1), container.args[0]], {
          env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, JOB_COMPLETION_INDEX: String(index), SHARDS: String(shards), METADATA_REPO_TOKEN: 'cronjob-token-3f9a' },
        });
        assert.doesNotMatch(stdout, /cronjob-token-3f9a/, 'the token is not on the command line');
        const { maxDurationMs } = checkSyncArgs(stdout.trim().split('\n'), flags, `${index + 1}/${shards}`);
        assert.ok(maxDurationMs < job.activeDeadlineSeconds * 1000, '--max-duration ends the run before the Job deadline');
      }
      // the metadata token went to git's credential helper, not into the command line
      const gitconfig = await readFile(join(dir, '.gitconfig'), 'utf8');
      assert.match(gitconfig, /helper = "?!f\(\)/);
      assert.doesNotMatch(gitconfig, /cronjob-token-3f9a/, 'the helper reads the token when git asks, it is not stored');
    });

    it('the GitHub Actions workflow runs the action in a matrix of shards 1/N … N/N that end before the job timeout', async () => {
      const workflow = parseYaml(await readFile(join(repoRoot, '.github/workflows/sync-shards.yml'), 'utf8'));
      const job = workflow.jobs.sync;
      assert.equal(job.strategy['fail-fast'], false);
      const shards = Number(job.env.SHARDS);
      assert.deepEqual(job.strategy.matrix.shard, Array.from({ length: shards }, (_, i) => i + 1));
      const step = job.steps.find((s: { uses?: string }) => s.uses === './');
      assert.equal(step.with.shard, '${{ matrix.shard }}/${{ env.SHARDS }}');
      assert.match(step.with.password, /^\$\{\{ secrets\./);
      const flags = await knownSyncFlags();
      for (let shard = 1; shard <= shards; shard++) {
        // action/run.sh hands each input to the flag of its name (test/e2e/action.test.ts runs it); credentials go by environment
        const inputs: Record<string, string> = { ...step.with, shard: `${shard}/${shards}` };
        const argv = ['sync', ...Object.entries(inputs).filter(([name]) => name !== 'username' && name !== 'password').flatMap(([name, value]) => [`--${name}`, value])];
        argv.push('--checkpoint-every', step.env.GCRSYNC_CHECKPOINT_EVERY);
        const { maxDurationMs } = checkSyncArgs(argv, flags, `${shard}/${shards}`);
        assert.ok(maxDurationMs < job['timeout-minutes'] * 60_000, '--max-duration ends the run before the job timeout');
      }
    });
  });
});
