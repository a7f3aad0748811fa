import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { runProgram } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { installTarball, packTarball, repositoryRoot } from '../support/package.js';
import { useInstallScene } from '../support/install-scene.js';

const execFileAsync = promisify(execFile);

const pkg = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { version: string; license: string; repository: { url: string } };
const USER_AGENT = `gcrsync/${pkg.version} (+https://github.com/gcrsync/gcrsync)`;

async function builtModules(dir: string): Promise<string[]> {
  const entries = await readdir(join(repositoryRoot, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => relative(repositoryRoot, join(e.parentPath, e.name)));
}

/** The User-Agent of every request a registry logged (distribution logs `http.request.useragent="…"`). */
function userAgentsIn(log: string): string[] {
  return [...log.matchAll(/http\.request\.useragent="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

/**
 * What `npx gcrsync` and `npm install -g gcrsync` get: the tarball `npm pack` makes, installed into an empty
 * prefix with production dependencies only (from the npm registry), run from there against real registries.
 */
describe('npm package (npm pack, installed into an empty prefix)', function () {
  this.timeout(300_000);
  const scene = useInstallScene();
  let tarball: string;

  before(async () => {
    tarball = await packTarball();
  });

  it('ships the built JavaScript, package.json, README, LICENSE and the config schema, nothing else', async () => {
    const { stdout } = await execFileAsync('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const js = files.filter((f) => /^dist\/(cmd|src)\/.+\.js$/.test(f));
    assert.deepEqual(files.filter((f) => !js.includes(f)).sort(), ['LICENSE', 'README.md', 'gcrsync.schema.json', 'package.json']);
    // every module the build made is in it: nothing the CLI imports is left out
    assert.deepEqual(js.sort(), [...(await builtModules('dist/cmd')), ...(await builtModules('dist/src'))].sort());
    assert.equal(pkg.license, 'MIT');
    assert.match(await readFile(join(repositoryRoot, 'LICENSE'), 'utf8'), /^MIT License\n/);
    assert.equal(pkg.repository.url, 'git+https://github.com/gcrsync/gcrsync.git');
  });

  const variants = [
    { name: 'with its optional dependencies (npx, npm install -g)', omitOptional: false, maxMegabytes: 70 },
    { name: 'with --omit=optional (the container image): registry transport only', omitOptional: true, maxMegabytes: 50 },
  ];
  for (const variant of variants) {
    it(`installs ${variant.name}, prints its version and syncs real registries with User-Agent ${USER_AGENT}`, async () => {
      const installed = await installTarball(tarball, { omitOptional: variant.omitOptional });
      try {
        const megabytes = installed.sizeBytes / 1024 / 1024;
        console.log(`      install: ${megabytes.toFixed(1)} MB in node_modules, ${installed.packages} packages`);
        assert.ok(megabytes < variant.maxMegabytes, `${megabytes.toFixed(1)} MB installed; the budget is ${variant.maxMegabytes} MB`);
        const hasDockerode = await access(join(installed.prefix, 'node_modules', 'dockerode')).then(() => true, () => false);
        assert.equal(hasDockerode, !variant.omitOptional, 'dockerode is installed exactly when optional dependencies are');

        const version = await runProgram(installed.bin, ['--version'], { cwd: installed.prefix });
        assert.equal(version.code, 0, version.stderr);
        assert.equal(version.stdout.trim(), pkg.version);

        const remote = await bareRemote();
        const prefix = variant.omitOptional ? 'lean' : 'full';
        const args = ['sync', '--source', scene.sourceNamespace, '--target', `${scene.target.host}/${prefix}`, '--metadata-repo', remote.url];
        if (variant.omitOptional) {
          const before = await remote.head();
          const docker = await runProgram(installed.bin, [...args, '--transport', 'docker'], { cwd: installed.prefix });
          assert.equal(docker.code, 2, docker.stderr);
          assert.match(docker.stderr, /optional package dockerode.*--transport registry/);
          assert.equal(await remote.head(), before, 'nothing committed');
        }
        const agentsBefore = userAgentsIn(scene.target.log()).length;
        const sync = await runProgram(installed.bin, [...args, '--transport', 'registry', '--json'], { cwd: installed.prefix });
        assert.equal(sync.code, 0, sync.stderr);
        const report = JSON.parse(sync.stdout) as { outcomes: Array<{ status: string }> };
        assert.deepEqual(report.outcomes.map((o) => o.status), ['synced', 'synced']);

        const agents = userAgentsIn(scene.target.log()).slice(agentsBefore);
        assert.ok(agents.length > 0, 'the target logged the requests');
        assert.deepEqual([...new Set(agents)], [USER_AGENT]);
        await scene.assertMirrored(prefix, remote);
        await remote.cleanup();
      } finally {
        await installed.remove();
      }
    });
  }
});
