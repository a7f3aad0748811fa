import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { bareRemote, git } from '../support/git.js';
import { gitHttpServer } from '../support/git-http.js';
import { pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

const TOKEN = 'MetaTok-9b2c44e1';

/**
 * A metadata repo URL with a token in it (`https://TOKEN@host/x.git`, `https://x-access-token:TOKEN@host/x.git`):
 * the token reaches git only through a credential helper reading the environment. A `git` wrapper first on PATH
 * records every git command line and the clone's .git/config as git sees them.
 */
describe('a metadata repo token never in output, argv or .git/config (CLI, end to end)', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let target: TestRegistry;
  let work: string;
  let wrapperDir: string;
  let gitLog: string;

  before(async () => {
    upstream = await startRegistry();
    target = await startRegistry();
    await pushTestImage(upstream, 'ns/app', 'v1');
    work = await tempDir('metadata-token');
    wrapperDir = join(work, 'bin');
    gitLog = join(work, 'git.log');
    await mkdir(wrapperDir);
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(
      join(wrapperDir, 'git'),
      `#!/bin/sh\nprintf 'ARGV %s\\n' "$*" >> '${gitLog}'\n[ -f .git/config ] && { echo CONFIG; cat .git/config; } >> '${gitLog}'\nexec '${realGit}' "$@"\n`,
    );
    await chmod(join(wrapperDir, 'git'), 0o755);
  });
  after(async () => {
    await upstream?.stop();
    await target?.stop();
  });

  const env = () => ({ PATH: `${wrapperDir}:${process.env.PATH}`, GIT_TERMINAL_PROMPT: '0' });

  function assertNoToken(what: string, text: string): void {
    assert.ok(!text.includes(TOKEN), `${what} shows the token:\n${text.slice(Math.max(0, text.indexOf(TOKEN) - 300), text.indexOf(TOKEN) + 50)}`);
  }

  for (const [form, user, token] of [
    ['the token as the user name', TOKEN, ''],
    ['x-access-token:TOKEN', 'x-access-token', TOKEN],
  ] as const) {
    it(`${form}: cloned and pushed; the token is in no output, git argument or .git/config`, async () => {
      const remote = await bareRemote();
      await git(remote.path, 'config', 'http.receivepack', 'true');
      const server = await gitHttpServer(join(remote.path, '..'), user, token);
      await writeFile(gitLog, '');
      try {
        const url = server.url('remote.git');
        assert.ok(url.includes(`${TOKEN}@`));
        const result = await runCli(['sync', '--source', `${upstream.host}/ns`, '--target', `${target.host}/tok`, '--metadata-repo', url, '--verbose', '--json'], { env: env() });
        assert.equal(result.code, 0, result.stderr);
        assert.equal((JSON.parse(result.stdout) as { commit?: { pushed: boolean } }).commit?.pushed, true);
        assert.ok(server.authorizations.length > 0, 'git authenticated with the token');
        const argv = await readFile(gitLog, 'utf8');
        assert.match(argv, /^ARGV .*\bclone\b/m, 'the wrapper saw the clone');
        assert.match(argv, /^ARGV .*\bpush --quiet/m, 'the wrapper saw the push');
        assert.match(argv, /CONFIG/, 'the wrapper saw the clone\'s .git/config');
        assertNoToken('git argv and .git/config', argv);
        assertNoToken('stderr (--verbose)', result.stderr);
        assertNoToken('stdout (--json)', result.stdout);
      } finally {
        await server.stop();
      }
    });
  }

  it('a declined push names the remote with the token masked', async () => {
    const remote = await bareRemote();
    await git(remote.path, 'config', 'http.receivepack', 'true');
    const hook = join(remote.path, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "declined by policy" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const server = await gitHttpServer(join(remote.path, '..'), TOKEN, '');
    try {
      const result = await runCli(['sync', '--source', `${upstream.host}/ns`, '--target', `${target.host}/declined`, '--metadata-repo', server.url('remote.git'), '--verbose', '--json'], {
        env: env(),
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match((JSON.parse(result.stdout) as { commit?: { error?: string } }).commit?.error ?? '', /declined/);
      assertNoToken('stderr (--verbose)', result.stderr);
      assertNoToken('stdout (--json)', result.stdout);
    } finally {
      await server.stop();
    }
  });

  it('config validate prints the metadata repo of a job without its token', async () => {
    const config = join(work, 'gcrsync.yaml');
    await writeFile(config, `jobs:\n  - name: tok\n    source: ${upstream.host}/ns\n    target: ${target.host}/tok\n    metadataRepo: https://${TOKEN}@git.example.com/mirror/meta.git\n`);
    for (const json of [false, true]) {
      const result = await runCli(['config', 'validate', '--config', config, ...(json ? ['--json'] : [])], { env: env() });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /git\.example\.com\/mirror\/meta\.git/, 'the repo is still named');
      assertNoToken(`config validate${json ? ' --json' : ''}`, result.stdout + result.stderr);
    }
  });
});
