import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runCli, type CliResult } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir, waitFor } from '../support/temp.js';
import { startTinyproxy } from '../support/tinyproxy.js';

// distinctive values, so a hit in any output can only be a leak
const SOURCE_PASSWORD = 'SrcCred-4f81c2d9';
const TARGET_PASSWORD = 'DstCred-a7e3b015';
const WRONG_PASSWORD = 'Wrong-55c1e0aa';
const SECRETS = [SOURCE_PASSWORD, TARGET_PASSWORD, WRONG_PASSWORD];

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

/** Runs the built CLI with `input` on stdin (for --password-stdin). */
function runWithStdin(args: string[], input: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

function assertNoSecrets(result: CliResult): void {
  for (const secret of SECRETS) assert.ok(!(result.stdout + result.stderr).includes(secret), `output leaks ${secret}`);
}

const authJson = (host: string, user: string, password: string) => JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });

/**
 * Credentials of real users against htpasswd registries, through the built CLI: --src-creds/--dest-creds,
 * credentials: in gcrsync.yaml from the environment or a file, the auth-file order skopeo documents, and
 * login/logout writing the Docker config.
 */
describe('source and target credentials, auth files, login (CLI, end to end)', function () {
  this.timeout(180_000);
  let source: TestRegistry;
  let target: TestRegistry;
  let digest: string;

  before(async () => {
    source = await startRegistry({ auth: 'htpasswd', users: { reader: SOURCE_PASSWORD } });
    target = await startRegistry({ auth: 'htpasswd', users: { writer: TARGET_PASSWORD } });
    digest = (await pushTestImage(source, 'lib/app', '1.0')).digest;
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
  });

  /** `gcrsync copy` of lib/app:1.0 to the target's REPO with a fresh HOME and metadata repo. */
  async function copy(repository: string, args: string[], env: Record<string, string> = {}, config?: string): Promise<CliResult> {
    const remote = await bareRemote();
    const dir = await tempDir('creds');
    if (config !== undefined) await writeFile(join(dir, 'gcrsync.yaml'), config);
    const home = env.HOME ?? (await tempDir('home'));
    const result = await runCli(['copy', `${source.host}/lib/app:1.0`, `${target.host}/${repository}:1.0`, '--metadata-repo', remote.url, '--verbose', ...args], {
      cwd: dir,
      env: { HOME: home, ...env },
    });
    assertNoSecrets(result);
    return result;
  }

  it('--src-creds and --dest-creds USER:PASS reach each registry, masked in debug output', async () => {
    const result = await copy('flags/app', ['--src-creds', `reader:${SOURCE_PASSWORD}`, '--dest-creds', `writer:${TARGET_PASSWORD}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await headDigest(target, 'flags/app', '1.0'), digest);

    const wrong = await copy('flags2/app', ['--src-creds', `reader:${WRONG_PASSWORD}`, '--dest-creds', `writer:${TARGET_PASSWORD}`]);
    assert.equal(wrong.code, 1, 'a wrong source password fails');
    assert.match(wrong.stderr + wrong.stdout, /AUTH/);
  });

  it('credentials: in gcrsync.yaml come from environment variables and files', async () => {
    const secrets = await tempDir('secrets');
    await writeFile(join(secrets, 'target-password'), `${TARGET_PASSWORD}\n`);
    const config = [
      'defaults:',
      '  credentials:',
      `    "${source.host}":`,
      '      usernameEnv: SRC_USER',
      '      passwordEnv: SRC_PASSWORD',
      `    "${target.host}":`,
      '      username: writer',
      `      passwordFile: ${join(secrets, 'target-password')}`,
      'jobs:',
      '  - name: one',
      `    source: ${source.host}/lib`,
      `    target: ${target.host}/x`,
      '',
    ].join('\n');
    const result = await copy('fromfile/app', [], { SRC_USER: 'reader', SRC_PASSWORD: SOURCE_PASSWORD }, config);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await headDigest(target, 'fromfile/app', '1.0'), digest);

    const unset = await copy('fromfile2/app', [], { SRC_USER: 'reader' }, config);
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /credentials\.127\.0\.0\.1:\d+: environment variable SRC_PASSWORD is not set/);
  });

  it('reads --authfile / REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json, then the Docker config', async () => {
    const home = await tempDir('home');
    const runtime = await tempDir('xdg');
    await mkdir(join(home, '.docker'));
    await mkdir(join(runtime, 'containers'));
    // the source's right password sits only in the Docker config, behind a wrong one in auth.json for the target
    await writeFile(join(home, '.docker', 'config.json'), authJson(source.host, 'reader', SOURCE_PASSWORD));
    await writeFile(join(runtime, 'containers', 'auth.json'), authJson(target.host, 'writer', WRONG_PASSWORD));
    const authfile = join(await tempDir('authfile'), 'auth.json');
    await writeFile(authfile, authJson(target.host, 'writer', TARGET_PASSWORD));

    const wrong = await copy('order0/app', [], { HOME: home, XDG_RUNTIME_DIR: runtime });
    assert.equal(wrong.code, 1, 'the wrong password of auth.json is used before the Docker config');

    const flag = await copy('order1/app', ['--authfile', authfile], { HOME: home, XDG_RUNTIME_DIR: runtime });
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(await headDigest(target, 'order1/app', '1.0'), digest);

    const variable = await copy('order2/app', [], { HOME: home, XDG_RUNTIME_DIR: runtime, REGISTRY_AUTH_FILE: authfile });
    assert.equal(variable.code, 0, variable.stderr);
    assert.equal(await headDigest(target, 'order2/app', '1.0'), digest);

    await writeFile(join(runtime, 'containers', 'auth.json'), authJson(target.host, 'writer', TARGET_PASSWORD));
    const podman = await copy('order3/app', [], { HOME: home, XDG_RUNTIME_DIR: runtime });
    assert.equal(podman.code, 0, podman.stderr);
    assert.equal(await headDigest(target, 'order3/app', '1.0'), digest);
  });

  it('login checks the password before storing it; a sync then needs no flags; logout removes it', async () => {
    const home = await tempDir('home');
    const env = { HOME: home };
    const config = join(home, '.docker', 'config.json');

    const wrong = await runWithStdin(['login', target.host, '--username', 'writer', '--password-stdin'], `${WRONG_PASSWORD}\n`, env);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, new RegExp(`login to ${target.host} failed: the registry refused writer's password`));
    assertNoSecrets(wrong);
    await assert.rejects(stat(config), 'a refused login stores nothing');

    const right = await runWithStdin(['login', target.host, '--username', 'writer', '--password-stdin'], `${TARGET_PASSWORD}\n`, env);
    assert.equal(right.code, 0, right.stderr);
    assertNoSecrets(right);
    const stored = JSON.parse(await readFile(config, 'utf8'));
    assert.equal(Buffer.from(stored.auths[target.host].auth, 'base64').toString(), `writer:${TARGET_PASSWORD}`);
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    const loginSource = await runWithStdin(['login', source.host, '-u', 'reader', '--password-stdin'], SOURCE_PASSWORD, env);
    assert.equal(loginSource.code, 0, loginSource.stderr);

    const synced = await copy('login/app', [], env);
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(await headDigest(target, 'login/app', '1.0'), digest);

    const out = await runCli(['logout', target.host], { env });
    assert.equal(out.code, 0, out.stderr);
    const after = JSON.parse(await readFile(config, 'utf8'));
    assert.deepEqual(Object.keys(after.auths), [source.host], 'only the target entry is gone');
    const denied = await copy('logout/app', [], env);
    assert.equal(denied.code, 1, 'without the stored login the push is refused');
  });

  it('login reaches the registry through a proxy', async () => {
    const proxy = await startTinyproxy();
    try {
      const home = await tempDir('home');
      const result = await runWithStdin(['login', target.host, '-u', 'writer', '--password-stdin'], TARGET_PASSWORD, { HOME: home, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
      assert.equal(result.code, 0, result.stderr);
      const pattern = new RegExp(`GET http://${target.host}/v2/`);
      await waitFor(async () => pattern.test(proxy.log()), 10_000, () => `the proxy log does not show ${pattern}:\n${proxy.log()}`);
    } finally {
      await proxy.stop();
    }
  });
});
