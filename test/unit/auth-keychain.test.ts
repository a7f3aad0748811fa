import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createKeychain } from '../../src/auth/keychain.js';
import { decodeAuth, hostOfConfigKey, parseDockerConfig } from '../../src/auth/docker-config.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { redactAll } from '../../src/log.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

// A credential helper speaking the docker-credential-helpers protocol: server URL on stdin, JSON on stdout.
const FAKE_HELPER = `#!/bin/sh
server=$(cat)
echo "$server" >> "$(dirname "$0")/calls.log"
case "$server" in
  registry.example.com) echo '{"ServerURL":"registry.example.com","Username":"helper-user","Secret":"helper-secret-1"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"hub-identity-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

describe('auth/keychain', () => {
  let dir: string;
  let binDir: string;
  let env: NodeJS.ProcessEnv;

  const writeConfig = async (config: unknown, name = 'config.json') => {
    const path = join(dir, name);
    await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config));
    return path;
  };
  const helper = async (name: string, script: string) => {
    const path = join(binDir, `docker-credential-${name}`);
    await writeFile(path, script);
    await chmod(path, 0o755);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gcrsync-keychain-'));
    binDir = join(dir, 'bin');
    await mkdir(binDir);
    await helper('fake', FAKE_HELPER);
    env = { PATH: `${binDir}${delimiter}${process.env.PATH}`, HOME: join(dir, 'home') };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('auths entries', () => {
    it('decodes base64 auth under a URL key, splitting at the first colon', async () => {
      const path = await writeConfig({ auths: { 'https://registry.example.com/v1/': { auth: b64('alice:pa:ss\0') } } });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('registry.example.com', UNINTERRUPTED), { username: 'alice', password: 'pa:ss' });
    });

    it('finds Docker Hub under https://index.docker.io/v1/ for every Hub alias', async () => {
      const path = await writeConfig({ auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } } });
      for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
        const keychain = createKeychain({ dockerConfigPath: path, env });
        assert.deepEqual(await keychain.resolve(name, UNINTERRUPTED), { username: 'hubuser', password: 'hubpass' }, name);
      }
    });

    it('matches host:port keys exactly and not other ports', async () => {
      const path = await writeConfig({ auths: { '127.0.0.1:5000': { username: 'u', password: 'p-5000' } } });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('127.0.0.1:5000', UNINTERRUPTED), { username: 'u', password: 'p-5000' });
      assert.equal(await keychain.resolve('127.0.0.1:6000', UNINTERRUPTED), undefined);
    });

    it('returns identity tokens and registry tokens as such', async () => {
      const path = await writeConfig({
        auths: {
          'id.example': { auth: b64('bob:'), identitytoken: 'refresh-abc' },
          'rt.example': { registrytoken: 'bearer-xyz' },
        },
      });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('id.example', UNINTERRUPTED), { identityToken: 'refresh-abc', username: 'bob' });
      assert.deepEqual(await keychain.resolve('rt.example', UNINTERRUPTED), { registryToken: 'bearer-xyz' });
    });

    it('is anonymous for unknown hosts and empty credsStore markers', async () => {
      const path = await writeConfig({ auths: { 'marker.example': {} } });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.equal(await keychain.resolve('marker.example', UNINTERRUPTED), undefined);
      assert.equal(await keychain.resolve('other.example', UNINTERRUPTED), undefined);
    });

    it('is anonymous when there is no config file', async () => {
      const keychain = createKeychain({ dockerConfigPath: join(dir, 'missing.json'), env });
      assert.equal(await keychain.resolve('gcr.io', UNINTERRUPTED), undefined);
    });

    it('reads $DOCKER_CONFIG/config.json by default', async () => {
      await writeConfig({ auths: { 'quay.io': { auth: b64('q:quay-pass') } } });
      const keychain = createKeychain({ env: { ...env, DOCKER_CONFIG: dir } });
      assert.deepEqual(await keychain.resolve('quay.io', UNINTERRUPTED), { username: 'q', password: 'quay-pass' });
    });

    it('falls back to ~/.docker/config.json', async () => {
      await mkdir(join(dir, 'home', '.docker'), { recursive: true });
      await writeFile(join(dir, 'home', '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: b64('g:ghcr-pass') } } }));
      const keychain = createKeychain({ env });
      assert.deepEqual(await keychain.resolve('ghcr.io', UNINTERRUPTED), { username: 'g', password: 'ghcr-pass' });
    });
  });

  describe('precedence', () => {
    it('explicit credentials win over the config', async () => {
      const path = await writeConfig({ auths: { 'registry.example.com': { auth: b64('file:file-pass') } } });
      const keychain = createKeychain({ dockerConfigPath: path, env, explicit: { 'registry.example.com': { username: 'flag', password: 'flag-pass' } } });
      assert.deepEqual(await keychain.resolve('registry.example.com', UNINTERRUPTED), { username: 'flag', password: 'flag-pass' });
    });

    it('credHelpers[host] wins over credsStore and auths', async () => {
      await helper('other', '#!/bin/sh\necho \'{"Username":"store-user","Secret":"store-secret"}\'\n');
      const path = await writeConfig({
        credsStore: 'other',
        credHelpers: { 'registry.example.com': 'fake' },
        auths: { 'registry.example.com': { auth: b64('file:file-pass') } },
      });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('registry.example.com', UNINTERRUPTED), { username: 'helper-user', password: 'helper-secret-1' });
    });

    it('credsStore answers before auths, and "not found" falls through to auths', async () => {
      const path = await writeConfig({ credsStore: 'fake', auths: { 'quay.io': { auth: b64('q:from-auths') } } });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('registry.example.com', UNINTERRUPTED), { username: 'helper-user', password: 'helper-secret-1' });
      assert.deepEqual(await keychain.resolve('quay.io', UNINTERRUPTED), { username: 'q', password: 'from-auths' });
    });

    it('asks helpers about Docker Hub with the legacy key and reads <token> as an identity token', async () => {
      const path = await writeConfig({ credHelpers: { 'index.docker.io': 'fake' } });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      assert.deepEqual(await keychain.resolve('docker.io', UNINTERRUPTED), { identityToken: 'hub-identity-token' });
    });

    it('resolves each registry once', async () => {
      const path = await writeConfig({ credsStore: 'fake' });
      const keychain = createKeychain({ dockerConfigPath: path, env });
      await Promise.all([keychain.resolve('registry.example.com', UNINTERRUPTED), keychain.resolve('registry.example.com', UNINTERRUPTED)]);
      await keychain.resolve('registry.example.com', UNINTERRUPTED);
      const { readFile } = await import('node:fs/promises');
      assert.equal((await readFile(join(binDir, 'calls.log'), 'utf8')).trim().split('\n').length, 1);
    });
  });

  describe('secrets', () => {
    it('registers every secret it hands out with the logger', async () => {
      // the logger's secret list is global: secrets of this test alone, so no other test can have registered them
      // (other tests' secrets may still be part of them: FAKE_HELPER's `helper-secret-1` starts one in 16 of
      // `helper-secret-<hex>`, hence the random part first and the check that none is masked as a whole)
      const [fromHelper, fromConfig, fromFlag] = ['helper', 'config', 'flag'].map((from) => `${randomBytes(8).toString('hex')}-${from}-secret`);
      const secrets = [fromHelper!, fromConfig!, fromFlag!];
      for (const secret of secrets) assert.notEqual(redactAll(secret), '***', 'not registered before the keychain hands it out');
      await helper('once', `#!/bin/sh\n[ "$(cat)" = registry.example.com ] || { echo "credentials not found in native keychain"; exit 1; }\necho '{"Username":"h","Secret":"${fromHelper}"}'\n`);
      const path = await writeConfig({ credsStore: 'once', auths: { 'quay.io': { auth: b64(`q:${fromConfig}`) } } });
      const keychain = createKeychain({ dockerConfigPath: path, env, explicit: { 'flag.example': { username: 'u', password: fromFlag! } } });
      assert.deepEqual(
        await Promise.all(['registry.example.com', 'quay.io', 'flag.example'].map((registry) => keychain.resolve(registry, UNINTERRUPTED))),
        [{ username: 'h', password: fromHelper }, { username: 'q', password: fromConfig }, { username: 'u', password: fromFlag }],
      );
      for (const secret of secrets) assert.equal(redactAll(`say ${secret}`), 'say ***');
    });
  });

  describe('failures', () => {
    const isConfig = (path: string) => (e: unknown) => isGcrsyncError(e, 'CONFIG') && e.message.includes(path);

    it('corrupt JSON is CONFIG naming the file, never quoting it', async () => {
      const path = await writeConfig('{"auths": {"x": {"auth": "c3VwZXItc2VjcmV0"}, oops');
      const keychain = createKeychain({ dockerConfigPath: path, env });
      await assert.rejects(keychain.resolve('x', UNINTERRUPTED), (e) => isConfig(path)(e) && !(e as Error).message.includes('c3VwZXItc2VjcmV0'));
    });

    it('a wrongly typed field is CONFIG', async () => {
      const path = await writeConfig({ auths: { x: { auth: 42 } } });
      await assert.rejects(createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED), isConfig(path));
    });

    it('an unreadable config is CONFIG', async () => {
      const path = join(dir, 'a-directory');
      await mkdir(path);
      await assert.rejects(createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED), isConfig(path));
    });

    it('an auth value that is not user:password is CONFIG', async () => {
      const path = await writeConfig({ auths: { x: { auth: b64('no-colon') } } });
      await assert.rejects(createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED), isConfig(path));
    });

    it('a helper missing from PATH is CONFIG', async () => {
      const path = await writeConfig({ credsStore: 'absent' });
      await assert.rejects(createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED), (e) => isGcrsyncError(e, 'CONFIG') && /docker-credential-absent/.test(e.message));
    });

    it('a helper name with a path is refused', async () => {
      const path = await writeConfig({ credsStore: '../../bin/sh' });
      await assert.rejects(createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED), (e) => isGcrsyncError(e, 'CONFIG'));
    });

    it('a hanging helper is killed after the timeout', async () => {
      await helper('slow', '#!/bin/sh\nsleep 10\n');
      const path = await writeConfig({ credsStore: 'slow' });
      const started = Date.now();
      await assert.rejects(createKeychain({ dockerConfigPath: path, env, helperTimeoutMs: 300 }).resolve('x', UNINTERRUPTED), (e) => isGcrsyncError(e, 'AUTH'));
      assert.ok(Date.now() - started < 5000);
    });

    it('a failing helper is AUTH without its output', async () => {
      await helper('broken', '#!/bin/sh\necho "leaked-helper-output"\nexit 3\n');
      const path = await writeConfig({ credsStore: 'broken' });
      await assert.rejects(
        createKeychain({ dockerConfigPath: path, env }).resolve('x', UNINTERRUPTED),
        (e) => isGcrsyncError(e, 'AUTH') && /exit 3/.test(e.message) && !e.message.includes('leaked-helper-output'),
      );
    });
  });

  it('config helpers', () => {
    assert.equal(hostOfConfigKey('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(hostOfConfigKey('http://localhost:5000'), 'localhost:5000');
    assert.equal(hostOfConfigKey('gcr.io'), 'gcr.io');
    assert.deepEqual(decodeAuth(b64('a:b'), 'f', 'k'), { username: 'a', password: 'b' });
    assert.deepEqual(parseDockerConfig('{}', 'f'), { auths: {}, credHelpers: {} });
  });
});
