import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJobsDeps } from '../../src/cli/wiring.js';
import { resolveJobs } from '../../src/config/settings.js';
import type { JobsOptions } from '../../src/config/job-options.js';
import { parseConfigFile } from '../../src/config/file.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { runHook } from '../../src/jobs/hooks.js';
import { jobsExitCode, runJobs } from '../../src/jobs/jobs.js';
import type { JobsReport } from '../../src/report/types.js';
import { silentLogger } from '../../src/log.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { getManifest, headDigest, listTags, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

/**
 * Jobs from a config file against real registries and a bare git remote: naming rules, filters and platforms
 * per job, the cross-job conflict check, target hooks (real processes) and failure isolation between runs.
 */
describe('jobs (config file → runs, real registries)', function () {
  this.timeout(120_000);
  let source: TestRegistry;
  let target: TestRegistry;
  let work: string;
  const digests = new Map<string, string>();

  before(async () => {
    source = await startRegistry();
    target = await startRegistry();
    work = await tempDir('jobs');
    for (const [repository, tag] of [
      ['jobs/app', '1.0.0'],
      ['jobs/app', '1.1.0'],
      ['jobs/app', '1.2.0'],
      ['jobs/app', '2.0.0-rc.1'],
      ['jobs/app', 'latest'],
      ['jobs/sub/tool', 'v1.0.0'],
      ['other/app', '1.0.0'],
    ] as const) {
      digests.set(`${repository}:${tag}`, (await pushTestImage(source, repository, tag)).digest);
    }
    digests.set('other/web:2.0', (await pushTestImage(source, 'other/web', '2.0', { platforms: ['linux/amd64', 'linux/arm64'] })).digest);
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  async function run(yaml: string, command: 'sync' | 'compare' = 'sync', flags = {}): Promise<{ report: JobsReport; options: JobsOptions }> {
    const file = join(work, `gcrsync-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, yaml);
    const options = resolveJobs(parseConfigFile(yaml, file), flags, {});
    const controller = new AbortController();
    const built = await createJobsDeps(options, silentLogger);
    try {
      return { report: await runJobs(options, command, built.deps, controller.signal), options };
    } finally {
      await built.close();
    }
  }
  const metadata = async (remote: BareRemote, namespace: string) => JSON.parse(await remote.show(`metadata/${source.host.replace(':', '_')}/${namespace}.json`));

  it('runs every job with its own naming, filters and platforms, one metadata file per source namespace', async () => {
    const remote = await bareRemote();
    const { report } = await run(`
defaults:
  target: ${target.host}/layout
  metadataRepo: ${remote.url}
jobs:
  - name: app
    source: ${source.host}/jobs
    filters: { exclude: ['-rc'], newest: 2 }
    naming: { template: "{registry}/{namespace}/{path}", separator: _ }
  - name: web
    source: ${source.host}/other
    filters: { include: ['^2\\.0$'] }
    platforms: [linux/arm64]
    naming: { template: "{repo}" }
`);
    assert.equal(jobsExitCode(report), 0, JSON.stringify(report, null, 2));
    const flat = `layout/${source.host.replace(':', '_')}_jobs`;
    assert.deepEqual((await listTags(target, `${flat}_app`)).sort(), ['1.1.0', '1.2.0']);
    assert.deepEqual(await listTags(target, `${flat}_sub_tool`), ['v1.0.0']);
    assert.equal(await headDigest(target, `${flat}_app`, '1.2.0'), digests.get('jobs/app:1.2.0'), 'digest preserved');

    const web = await getManifest(target, 'layout/web', '2.0');
    const platforms = (web.json as { manifests: Array<{ platform: { architecture: string } }> }).manifests.map((m) => m.platform.architecture);
    assert.deepEqual(platforms, ['arm64'], 'only the job\'s platform is kept');

    const jobsJson = await metadata(remote, 'jobs');
    assert.deepEqual(Object.keys(jobsJson.images), ['app', 'sub/tool']);
    assert.deepEqual(Object.keys(jobsJson.images.app).sort(), ['1.1.0', '1.2.0']);
    assert.equal(jobsJson.images.app['1.2.0'].target, `${target.host}/${flat}_app:1.2.0`);
    const webRecord = (await metadata(remote, 'other')).images.web['2.0'];
    assert.equal(webRecord.digest, digests.get('other/web:2.0'));
    assert.equal(webRecord.targetDigest, web.digest);
    assert.deepEqual(webRecord.platforms, ['linux/arm64']);
    assert.deepEqual(report.runs.map((r) => [r.job, r.source]), [['app', `${source.host}/jobs`], ['web', `${source.host}/other`]]);
  });

  it('refuses two sources mapping to one target across jobs before anything is copied, naming both', async () => {
    const remote = await bareRemote();
    const head = await remote.head();
    await assert.rejects(
      run(`
defaults:
  target: ${target.host}/clash
  metadataRepo: ${remote.url}
  naming: { template: "{repo}" }
  filters: { include: ['^1\\.0\\.0$'] }
jobs:
  - name: first
    source: ${source.host}/jobs
  - name: second
    source: ${source.host}/other
`),
      (error: unknown) =>
        isGcrsyncError(error, 'CONFIG') &&
        error.message.includes(`${source.host}/jobs/app:1.0.0 (job first) and ${source.host}/other/app:1.0.0 (job second) both map to ${target.host}/clash/app:1.0.0`),
    );
    assert.equal(await headDigest(target, 'clash/app', '1.0.0'), undefined, 'nothing copied');
    assert.equal(await headDigest(target, 'clash/tool', 'v1.0.0'), undefined, 'not even what did not clash');
    assert.equal(await remote.head(), head, 'nothing committed');
  });

  it('runs beforeRepository once per repository the target lacks and afterPush per image, names in the environment', async () => {
    const remote = await bareRemote();
    await pushTestImage(target, 'hooked/sub/tool', 'old');
    const log = join(work, 'hooks.log');
    await writeFile(log, '');
    const config = `
defaults:
  target: ${target.host}/hooked
  metadataRepo: ${remote.url}
jobs:
  - name: hooked
    source: ${source.host}/jobs
    filters: { include: ['^1\\.[01]\\.0$', '^v1'] }
    concurrency: 4
    hooks:
      beforeRepository: 'echo "before $GCRSYNC_JOB $GCRSYNC_TARGET_REGISTRY $GCRSYNC_TARGET_REPOSITORY" >> ${log}'
      afterPush:
        run: [sh, -c, 'echo "after $GCRSYNC_SOURCE $GCRSYNC_TARGET $GCRSYNC_TAG $GCRSYNC_DIGEST" >> "$0"', ${log}]
        timeout: 10s
`;
    const { report } = await run(config);
    assert.equal(jobsExitCode(report), 0, JSON.stringify(report, null, 2));
    const lines = (await readFile(log, 'utf8')).trim().split('\n').sort();
    assert.deepEqual(lines, [
      `after ${source.host}/jobs/app:1.0.0 ${target.host}/hooked/app:1.0.0 1.0.0 ${digests.get('jobs/app:1.0.0')}`,
      `after ${source.host}/jobs/app:1.1.0 ${target.host}/hooked/app:1.1.0 1.1.0 ${digests.get('jobs/app:1.1.0')}`,
      `after ${source.host}/jobs/sub/tool:v1.0.0 ${target.host}/hooked/sub/tool:v1.0.0 v1.0.0 ${digests.get('jobs/sub/tool:v1.0.0')}`,
      // once for app (two tags), never for sub/tool, which the target already had
      `before hooked ${target.host} hooked/app`,
    ]);
    await writeFile(log, '');
    const again = await run(config);
    assert.equal(jobsExitCode(again.report), 0);
    assert.equal(await readFile(log, 'utf8'), '', 'a no-op run runs no hook');
  });

  it('fails only the image whose afterPush hook fails, and does not record it', async () => {
    const remote = await bareRemote();
    const { report } = await run(`
jobs:
  - name: picky
    source: ${source.host}/jobs
    target: ${target.host}/picky
    metadataRepo: ${remote.url}
    filters: { include: ['^1\\.[01]\\.0$'] }
    hooks:
      afterPush: 'test "$GCRSYNC_TAG" != 1.1.0 || { echo "visibility API said no" >&2; exit 3; }'
`);
    assert.equal(jobsExitCode(report), 1);
    const outcomes = report.runs[0]!.report!.outcomes;
    const failed = outcomes.find((o) => o.status === 'failed');
    assert.equal(failed?.source, `${source.host}/jobs/app:1.1.0`);
    assert.match(failed!.error!, /afterPush hook .* exited with status 3: visibility API said no/);
    assert.deepEqual(outcomes.filter((o) => o.status === 'synced').map((o) => o.source), [`${source.host}/jobs/app:1.0.0`]);
    assert.deepEqual(Object.keys((await metadata(remote, 'jobs')).images.app), ['1.0.0']);
  });

  it('reads image list files, one run per namespace, and keeps going when one run cannot list its source', async () => {
    const remote = await bareRemote();
    const list = join(work, 'images.txt');
    await writeFile(list, `# pinned images\n${source.host}/jobs/app:1.0.0\n${source.host}/other/web:2.0 # multi-platform\n`);
    const { report } = await run(`
defaults:
  target: ${target.host}/listed
  metadataRepo: ${remote.url}
jobs:
  - name: listed
    sources:
      - imageList: ${list}
  - name: gone
    source: 127.0.0.1:1/nowhere
`);
    assert.equal(jobsExitCode(report), 1);
    assert.deepEqual(
      report.runs.map((r) => [r.job, r.source, r.error === undefined ? 'ok' : /SOURCE_UNREACHABLE/.test(r.error) ? 'unreachable' : r.error]),
      [
        ['gone', '127.0.0.1:1/nowhere', 'unreachable'],
        ['listed', `${source.host}/jobs`, 'ok'],
        ['listed', `${source.host}/other`, 'ok'],
      ],
    );
    assert.equal(await headDigest(target, 'listed/app', '1.0.0'), digests.get('jobs/app:1.0.0'));
    assert.equal(await headDigest(target, 'listed/web', '2.0'), digests.get('other/web:2.0'));
    assert.deepEqual(Object.keys((await metadata(remote, 'jobs')).images), ['app']);
    assert.deepEqual(Object.keys((await metadata(remote, 'other')).images), ['web']);
  });

  it("sends the first run's drift check HEADs while its source is still being listed, and reads their answers", async () => {
    const remote = await bareRemote();
    const options = resolveJobs(undefined, { source: `${source.host}/jobs`, target: `${target.host}/early`, metadataRepo: remote.url }, {});
    const built = await createJobsDeps(options, silentLogger);
    try {
      const first = await runJobs(options, 'sync', built.deps, UNINTERRUPTED);
      assert.equal(jobsExitCode(first), 0);
      assert.equal(first.runs[0]?.report?.commit?.pushed, true, 'recorded in the bare remote');
      const events: string[] = [];
      let headSent!: () => void;
      const headSeen = new Promise<void>((resolve) => (headSent = resolve));
      // the drift check's HEADs carry the digest they expect (If-None-Match)
      const { listSource, digestAtTarget } = built.deps;
      assert.ok(digestAtTarget !== undefined);
      built.deps.digestAtTarget = (repo, reference, expected, signal) => {
        events.push(`head ${repo.repository}:${reference}`);
        headSent();
        return digestAtTarget(repo, reference, expected, signal);
      };
      // the listing answers once a HEAD went out (the 60 s only keep a run that never sends one from hanging)
      built.deps.listSource = async (spec, job, signal) => {
        const hold = setTimeout(headSent, 60_000);
        await headSeen;
        clearTimeout(hold);
        events.push('listed');
        return listSource(spec, job, signal);
      };
      const noop = await runJobs(options, 'sync', built.deps, UNINTERRUPTED, 'always');
      const only = noop.runs[0]?.report;
      assert.equal(only?.verified?.checked, 6);
      assert.equal(only.verified.drifted, 0);
      assert.equal(only.outcomes.length, 0);
      assert.match(events[0] ?? '', /^head early\//);
      // each mirror HEADed once: the check after the plan took the answers sent before it
      const mirrors = [...['1.0.0', '1.1.0', '1.2.0', '2.0.0-rc.1', 'latest'].map((tag) => `app:${tag}`), 'sub/tool:v1.0.0'];
      assert.deepEqual(events.filter((e) => e !== 'listed').sort(), mirrors.map((mirror) => `head early/${mirror}`));
    } finally {
      await built.close();
    }
  });
});

describe('hook commands (real processes)', function () {
  this.timeout(30_000);

  /** Alive means running: a killed process whose parent has not reaped it yet is a zombie, and dead. */
  async function alive(pid: number): Promise<boolean> {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }

  it('kills the whole process group on timeout and says so', async () => {
    const dir = await tempDir('hook');
    const pidFile = join(dir, 'pid');
    const started = Date.now();
    await assert.rejects(
      runHook('beforeRepository', { run: `sleep 30 & echo $! > ${pidFile}; sleep 30`, timeoutMs: 300 }, {}, { logger: silentLogger, signal: UNINTERRUPTED }),
      (error: unknown) => isGcrsyncError(error, 'REGISTRY') && /beforeRepository hook \(sleep 30 .*\) timed out after 300 ms and was killed/.test(error.message),
    );
    assert.ok(Date.now() - started < 5000, 'did not wait for the command');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    for (let i = 0; i < 20 && (await alive(pid)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await alive(pid), false, `background process ${pid} of the hook was killed too`);
  });

  it('passes names only through the environment: shell syntax in a value stays text', async () => {
    const dir = await tempDir('hook');
    const out = join(dir, 'out');
    const hostile = '$(touch ' + join(dir, 'pwned') + ')`id`;rm -rf /';
    await runHook('afterPush', { run: `printf '%s' "$GCRSYNC_TARGET" > ${out}`, timeoutMs: 5000 }, { GCRSYNC_TARGET: hostile }, { logger: silentLogger, signal: UNINTERRUPTED });
    assert.equal(await readFile(out, 'utf8'), hostile);
    await assert.rejects(readFile(join(dir, 'pwned')), /ENOENT/);
  });

  it('runs an argv list without a shell and reports a missing program', async () => {
    await runHook('afterPush', { run: ['true'], timeoutMs: 5000 }, {}, { logger: silentLogger, signal: UNINTERRUPTED });
    await assert.rejects(
      runHook('afterPush', { run: ['/nonexistent/hook-program', 'x'], timeoutMs: 5000 }, {}, { logger: silentLogger, signal: UNINTERRUPTED }),
      (error: unknown) => isGcrsyncError(error) && /afterPush hook \(\/nonexistent\/hook-program x\) could not start: ENOENT/.test(error.message),
    );
  });

  it('stops a running hook when the run is interrupted', async () => {
    const controller = new AbortController();
    const running = runHook('afterPush', { run: 'sleep 30', timeoutMs: 60_000 }, {}, { logger: silentLogger, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(running, (error: unknown) => isGcrsyncError(error, 'ABORTED'));
  });
});
