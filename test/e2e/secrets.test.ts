import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { runCli, type CliResult } from '../support/cli.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote, git, type BareRemote } from '../support/git.js';
import { gitHttpServer } from '../support/git-http.js';
import { getManifest, headDigest, pushTestImage, registryRequest } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

// distinctive values, so a hit in any output can only be a leak
const SOURCE_USER = 'src-reader';
const SOURCE_PASSWORD = 'SrcPass-7d1e93aa';
const TARGET_USER = 'mirror-bot';
const TARGET_PASSWORD = 'TgtPass-c0ffee42';
const WRONG_PASSWORD = 'WrongPass-91ab77';
const METADATA_TOKEN = 'MetaTok-5ee1d0b7';
const STORAGE_SIGNATURE = 'SigSecret-88421c';
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

const SECRETS = [
  SOURCE_PASSWORD,
  TARGET_PASSWORD,
  WRONG_PASSWORD,
  METADATA_TOKEN,
  STORAGE_SIGNATURE,
  basic(SOURCE_USER, SOURCE_PASSWORD),
  basic(TARGET_USER, TARGET_PASSWORD),
  basic(TARGET_USER, WRONG_PASSWORD),
];
// a JWT (what the token server hands out) or an Authorization value with its credential
const SECRET_PATTERNS = [/eyJ[A-Za-z0-9_-]{8,}\.eyJ/, /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{12,}/];

/** Fails naming the output and the secret when any known secret or token shape appears in `text`. */
function assertNoSecrets(what: string, text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${what} leaks ${secret.slice(0, 6)}…:\n${text.slice(Math.max(0, text.indexOf(secret) - 300), text.indexOf(secret) + 100)}`);
  for (const pattern of SECRET_PATTERNS) assert.doesNotMatch(text, pattern, `${what} leaks a credential`);
}

/** Everything a run left in the metadata remote: every commit's message and full diff, on every ref. */
async function everythingCommitted(remote: BareRemote): Promise<string> {
  const history = await git(remote.path, 'log', '--all', '-p', '--format=commit %H%n%B');
  const refs = await git(remote.path, 'for-each-ref');
  const config = await git(remote.path, 'config', '--list');
  return [history, refs, config].join('\n');
}

/** A storage host standing in for S3/GCS: records the headers it was sent and serves one blob's bytes. */
async function storageTrap(bytes: () => Promise<Buffer>): Promise<{ host: string; seen: IncomingHttpHeaders[]; stop(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    bytes().then(
      (body) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as { port: number };
  return {
    host: `127.0.0.1:${address.port}`,
    seen,
    stop: () => new Promise((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

/**
 * Secrets through the built CLI: a password-protected gcr-style source (credentials from a Docker config), a
 * token-auth target (credentials from the environment or flags), a metadata remote URL with a token in it.
 * Every output a run produces is searched for each secret. Hostile realm, Location and Link URLs are refused
 * before any request is sent, and credentials never follow a redirect to another host.
 */
describe('secrets stay secret (CLI, end to end)', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let source: GcrFront;
  let target: TestRegistry;
  let dockerConfig: string;
  let trap: Awaited<ReturnType<typeof storageTrap>>;

  before(async () => {
    upstream = await startRegistry({ auth: 'htpasswd', users: { [SOURCE_USER]: SOURCE_PASSWORD } });
    target = await startRegistry({ auth: 'token', users: { [TARGET_USER]: TARGET_PASSWORD } });
    await pushTestImage(upstream, 'ns/app', 'v1');
    await pushTestImage(upstream, 'ns/sub/tool', '1.0', { platforms: ['linux/amd64', 'linux/arm64'] });
    const redirected = await pushTestImage(upstream, 'ns/redirected', 'v1');
    for (const [repository, tag] of [['hostile/fine', 'v1'], ['hostile/linked', 'v1'], ['hostile/located', 'v1']] as const) {
      await pushTestImage(upstream, repository, tag);
    }
    source = await gcrFront(upstream, { cacheListings: true });

    // the layer of ns/redirected lives "in storage": the registry answers its GET with a redirect there
    const layer = (await getManifest(upstream, 'ns/redirected', 'v1')).json as { layers: Array<{ digest: string }> };
    const layerDigest = layer.layers[0]!.digest;
    trap = await storageTrap(async () => {
      const res = await registryRequest(upstream, 'repository:ns/redirected:pull', `/v2/ns/redirected/blobs/${layerDigest}`);
      return Buffer.from(await res.arrayBuffer());
    });
    source.inject(`/v2/ns/redirected/blobs/${layerDigest}`, {
      status: 307,
      headers: { location: `http://${trap.host}/bucket/${layerDigest}?X-Amz-Credential=AKIA&X-Amz-Signature=${STORAGE_SIGNATURE}` },
      body: '',
    });
    assert.ok(redirected.digest);

    dockerConfig = await tempDir('docker-config');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [source.host]: { auth: basic(SOURCE_USER, SOURCE_PASSWORD) } } }));
  });
  after(async () => {
    await trap?.stop();
    await source?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  const sync = (namespace: string, remote: BareRemote, prefix: string, extra: string[] = [], env: Record<string, string> = {}): Promise<CliResult> =>
    runCli(['sync', '--source', `${source.host}/${namespace}`, '--target', `${target.host}/${prefix}`, '--metadata-repo', remote.url, '--verbose', '--json', ...extra], {
      env: { DOCKER_CONFIG: dockerConfig, ...env },
    });

  it('a full sync with credentials on both sides leaks none of them: logs, JSON report, commits, metadata, CHANGELOG', async () => {
    const remote = await bareRemote();
    const result = await sync('ns', remote, 'mirror', [], { GCRSYNC_USERNAME: TARGET_USER, GCRSYNC_PASSWORD: TARGET_PASSWORD });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { outcomes: Array<{ status: string }> };
    assert.equal(report.outcomes.filter((o) => o.status === 'synced').length, 3);
    for (const [repository, tag] of [['app', 'v1'], ['sub/tool', '1.0'], ['redirected', 'v1']]) {
      assert.equal(await headDigest(target, `mirror/${repository}`, tag!), await headDigest(upstream, `ns/${repository}`, tag!));
    }
    // the storage host got the blob request without the registry's credentials, and the copy still worked
    assert.ok(trap.seen.length >= 1, 'the redirect to storage was followed');
    for (const headers of trap.seen) assert.equal(headers.authorization, undefined, 'Authorization never follows a redirect to another host');
    // --verbose logged the requests, so the log had every chance to leak
    assert.match(result.stderr, /DEBUG/);
    assert.match(result.stderr, /X-Amz-Signature=(\*\*\*|%2A%2A%2A)/, 'the storage URL is logged with its signature masked');
    assertNoSecrets('stderr (--verbose)', result.stderr);
    assertNoSecrets('stdout (--json)', result.stdout);
    const committed = await everythingCommitted(remote);
    assert.match(committed, /CHANGELOG/);
    assertNoSecrets('the metadata repo (commit messages, JSON, CHANGELOG, refs, config)', committed);
  });

  it('a password given as a flag and refused by the registry is named nowhere, and the run goes on to exit 1', async () => {
    const remote = await bareRemote();
    const result = await sync('ns', remote, 'refused', ['--username', TARGET_USER, '--password', WRONG_PASSWORD]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { outcomes: Array<{ status: string; error?: string }> };
    // a setup failure: the images in flight fail, the rest are not started
    assert.ok(report.outcomes.some((o) => o.status === 'failed') && report.outcomes.every((o) => o.status === 'failed' || o.status === 'skipped'));
    assert.match(report.outcomes[0]!.error ?? '', /AUTH/);
    assertNoSecrets('stderr', result.stderr);
    assertNoSecrets('stdout (--json)', result.stdout);
    assertNoSecrets('the metadata repo', await everythingCommitted(remote));
  });

  it('a metadata repo URL carrying a token is cloned and pushed, and the token is nowhere: output, commits, the pushed repo', async () => {
    const remote = await bareRemote();
    await git(remote.path, 'config', 'http.receivepack', 'true');
    const server = await gitHttpServer(join(remote.path, '..'), 'x-access-token', METADATA_TOKEN);
    try {
      const url = server.url('remote.git');
      const result = await runCli(['sync', '--source', `${source.host}/ns`, '--target', `${target.host}/tokened`, '--metadata-repo', url, '--verbose', '--json'], {
        env: { DOCKER_CONFIG: dockerConfig, GCRSYNC_USERNAME: TARGET_USER, GCRSYNC_PASSWORD: TARGET_PASSWORD, GIT_TERMINAL_PROMPT: '0' },
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { commit?: { pushed: boolean } };
      assert.equal(report.commit?.pushed, true, 'the metadata went to the remote through the tokened URL');
      assert.ok(server.authorizations.length > 0, 'git authenticated with the token from the URL');
      assert.match(result.stderr, /127\.0\.0\.1:\d+\/remote\.git/, 'the logs still name the remote');
      assertNoSecrets('stderr (--verbose)', result.stderr);
      assertNoSecrets('stdout (--json)', result.stdout);
      assertNoSecrets('the metadata repo', await everythingCommitted(remote));
    } finally {
      await server.stop();
    }
  });

  it('a metadata repo URL carrying a token that cannot be cloned fails with exit 2 without showing the token', async () => {
    const remote = await bareRemote();
    for (const url of [
      `https://x-access-token:${METADATA_TOKEN}@127.0.0.1:1/gcrxio/gcr.git`,
      `http://${METADATA_TOKEN}@127.0.0.1:1/gcrxio/gcr.git`,
      `https://oauth2:${METADATA_TOKEN}@127.0.0.1:1/gcrxio/gcr.git`,
    ]) {
      const flag = await runCli(['sync', '--source', `${source.host}/ns`, '--target', `${target.host}/x`, '--metadata-repo', url, '--verbose', '--json'], {
        env: { DOCKER_CONFIG: dockerConfig, GIT_TERMINAL_PROMPT: '0' },
      });
      assert.equal(flag.code, 2, flag.stderr);
      assert.match(flag.stderr, /127\.0\.0\.1:1/, 'the error still says which repo');
      assertNoSecrets(`stderr for ${url.replace(METADATA_TOKEN, '<token>')}`, flag.stderr);
      assertNoSecrets('stdout', flag.stdout);
    }
    const env = await runCli(['sync', '--source', `${source.host}/ns`, '--target', `${target.host}/x`, '--verbose'], {
      env: { DOCKER_CONFIG: dockerConfig, GCRSYNC_METADATA_REPO: `https://x-access-token:${METADATA_TOKEN}@127.0.0.1:1/gcrxio/gcr.git`, GIT_TERMINAL_PROMPT: '0' },
    });
    assert.equal(env.code, 2, env.stderr);
    assertNoSecrets('stderr (GCRSYNC_METADATA_REPO)', env.stderr);
    // nothing was copied or committed anywhere
    assert.equal(await headDigest(target, 'x/app', 'v1'), undefined);
    assert.equal((await git(remote.path, 'rev-list', '--count', 'main')).trim(), '1');
  });

  it('a target or source written with credentials in it is refused as a usage error that does not repeat them', async () => {
    for (const flags of [
      ['--source', `${source.host}/ns`, '--target', `https://${TARGET_USER}:${TARGET_PASSWORD}@${target.host}/x`],
      ['--source', `${SOURCE_USER}:${SOURCE_PASSWORD}@${source.host}/ns`, '--target', `${target.host}/x`],
    ]) {
      const result = await runCli(['sync', ...flags, '--verbose']);
      assert.equal(result.code, 2, result.stderr);
      assertNoSecrets('stderr', result.stderr);
    }
  });

  describe('where credentials may go', () => {
    const realms = [
      { name: 'plain http to another host', realm: 'http://auth.registry.example/token', why: /plain http/ },
      { name: 'a link-local address (cloud metadata)', realm: 'https://169.254.169.254/latest/meta-data/token', why: /private or link-local/ },
      { name: 'a private address', realm: 'https://10.0.0.7/token', why: /private or link-local/ },
      { name: 'another scheme', realm: 'file:///etc/passwd', why: /scheme file:/ },
    ];
    for (const [i, { name, realm, why }] of realms.entries()) {
      it(`refuses a token realm at ${name} before sending anything (exit 2)`, async () => {
        const namespace = `realm${i}`;
        source.inject(`/v2/${namespace}/tags/list`, {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${realm}",service="evil",scope="repository:${namespace}:pull"` },
          body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        });
        const remote = await bareRemote();
        const result = await sync(namespace, remote, namespace, [], { GCRSYNC_USERNAME: TARGET_USER, GCRSYNC_PASSWORD: TARGET_PASSWORD });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /refusing to follow/);
        assert.match(result.stderr, why);
        assertNoSecrets('stderr', result.stderr);
      });
    }

    it('refuses a Location to a link-local address and a Link to a private one; the rest of the namespace is synced (exit 1)', async () => {
      const located = await getManifest(upstream, 'hostile/located', 'v1');
      // the transport fetches a manifest by tag (by digest inside an index): both answers redirect
      for (const reference of ['v1', located.digest]) {
        source.inject(`/v2/hostile/located/manifests/${reference}`, {
          status: 307,
          headers: { location: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' },
          body: '',
        });
      }
      const linkedDigest = await headDigest(upstream, 'hostile/linked', 'v1');
      source.inject('/v2/hostile/linked/tags/list', {
        headers: { link: '<https://192.168.10.1/v2/hostile/linked/tags/list?last=v1>; rel="next"' },
        body: {
          child: [],
          manifest: { [linkedDigest!]: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', tag: ['v1'], timeUploadedMs: '1', timeCreatedMs: '1', imageSizeBytes: '1' } },
          name: 'hostile/linked',
          tags: ['v1'],
        },
      });
      const remote = await bareRemote();
      const result = await sync('hostile', remote, 'hostile', [], { GCRSYNC_USERNAME: TARGET_USER, GCRSYNC_PASSWORD: TARGET_PASSWORD });
      assert.equal(result.code, 1, result.stderr);
      const report = JSON.parse(result.stdout) as {
        outcomes: Array<{ source: string; status: string; error?: string }>;
        problems: Array<{ subject: string; error: string }>;
      };
      const bySource = new Map(report.outcomes.map((o) => [o.source.slice(source.host.length + 1), o]));
      assert.equal(bySource.get('hostile/fine:v1')?.status, 'synced');
      assert.equal(bySource.get('hostile/located:v1')?.status, 'failed');
      assert.match(bySource.get('hostile/located:v1')!.error!, /HOSTILE_RESPONSE.*refusing to follow https:\/\/169\.254\.169\.254.*private or link-local/);
      assert.ok(report.problems.some((p) => /refusing to follow https:\/\/192\.168\.10\.1.*private or link-local/.test(p.error)), JSON.stringify(report.problems));
      assert.equal(await headDigest(target, 'hostile/located', 'v1'), undefined, 'the refused image is not at the target');
      assertNoSecrets('stderr', result.stderr);
      assertNoSecrets('stdout', result.stdout);
      assertNoSecrets('the metadata repo', await everythingCommitted(remote));
    });
  });

  it('an unreadable Docker config stops the run with exit 2, naming the file and what is wrong', async () => {
    const broken = await tempDir('docker-config-broken');
    await writeFile(join(broken, 'config.json'), `{"auths": {"${source.host}": {"auth": "${basic(SOURCE_USER, SOURCE_PASSWORD)}"`);
    const notAFile = await tempDir('docker-config-dir');
    await mkdir(join(notAFile, 'config.json'));
    for (const dir of [broken, notAFile]) {
      const remote = await bareRemote();
      const before = await remote.head();
      const result = await runCli(['sync', '--source', `${source.host}/ns`, '--target', `${target.host}/x`, '--metadata-repo', remote.url], {
        env: { DOCKER_CONFIG: dir },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`${join(dir, 'config.json').replace(/[/.]/g, '\\$&')}`));
      assert.match(result.stderr, /not valid JSON|cannot read/);
      assertNoSecrets('stderr', result.stderr);
      assert.equal(await remote.head(), before, 'nothing committed');
    }
  });
});
