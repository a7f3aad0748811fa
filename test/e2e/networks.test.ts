import assert from 'node:assert/strict';
import { mkdir, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, type CliResult } from '../support/cli.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir, waitFor } from '../support/temp.js';
import { startTinyproxy, type TestProxy } from '../support/tinyproxy.js';
import { createTestCa, type TestCa } from '../support/tls.js';

/**
 * The networks of real users, through the built CLI: a real forward proxy (tinyproxy) whose log must show the
 * requests, registries serving HTTPS from a test CA (one demanding client certificates), and the hints that
 * name the fix when trust or scheme is wrong.
 */
describe('networks, proxies and certificates (CLI, end to end)', function () {
  this.timeout(180_000);
  let ca: TestCa;
  let source: TestRegistry;
  /** HTTPS with a certificate for IP 127.0.0.1 and DNS localhost */
  let secure: TestRegistry;
  /** the same storage as `secure` over plain HTTP: where the tests read what gcrsync wrote */
  let secureView: TestRegistry;
  /** HTTPS that wants a client certificate signed by the test CA */
  let mutual: TestRegistry;
  let mutualView: TestRegistry;
  let digest: string;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    ca = await createTestCa();
    const server = await ca.server('registry', ['IP:127.0.0.1', 'DNS:localhost']);
    source = await startRegistry();
    digest = (await pushTestImage(source, 'lib/app', '1.0')).digest;
    secure = await startRegistry({ tls: server });
    secureView = await startRegistry({ storageDir: secure.storageDir });
    mutual = await startRegistry({ tls: { ...server, clientCa: ca.caFile } });
    mutualView = await startRegistry({ storageDir: mutual.storageDir });
  });
  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    for (const registry of [source, secure, secureView, mutual, mutualView]) await registry?.stop();
  });

  const port = (registry: TestRegistry) => registry.host.split(':').pop()!;

  /** `gcrsync copy` of lib/app:1.0 from the plain source to `target`/REPO, with a fresh metadata repo. */
  async function copy(target: string, repository: string, args: string[] = [], env: Record<string, string> = {}, files: Record<string, string> = {}): Promise<CliResult> {
    const remote = await bareRemote();
    const dir = await tempDir('networks');
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return runCli(['copy', `${source.host}/lib/app:1.0`, `${target}/${repository}:1.0`, '--metadata-repo', remote.url, ...args], { cwd: dir, env });
  }

  async function proxy(options: Parameters<typeof startTinyproxy>[0] = {}): Promise<TestProxy> {
    const started = await startTinyproxy(options);
    cleanups.push(() => started.stop());
    return started;
  }

  /** tinyproxy writes its log from its own threads: give it a moment to land */
  async function logShows(p: TestProxy, pattern: RegExp): Promise<void> {
    await waitFor(async () => pattern.test(p.log()), 10_000, () => `the proxy log does not show ${pattern}:\n${p.log()}`);
  }

  describe('proxies', () => {
    it('sends plain HTTP requests through HTTP_PROXY and tunnels HTTPS through HTTPS_PROXY with CONNECT', async () => {
      const p = await proxy();
      const result = await copy(secure.host, 'proxied/app', ['--ca-file', ca.caFile], { HTTP_PROXY: p.url, HTTPS_PROXY: p.url });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await headDigest(secureView, 'proxied/app', '1.0'), digest);
      await logShows(p, new RegExp(`GET http://${source.host}/v2/lib/app/(manifests|blobs)/`));
      await logShows(p, new RegExp(`CONNECT ${secure.host} `));
    });

    it('reads the lower-case variables, and NO_PROXY exempts a registry by host:port', async () => {
      const p = await proxy();
      const result = await copy(secure.host, 'exempt/app', ['--ca-file', ca.caFile], { http_proxy: p.url, https_proxy: p.url, no_proxy: `example.com,${secure.host}` });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await headDigest(secureView, 'exempt/app', '1.0'), digest);
      await logShows(p, new RegExp(`GET http://${source.host}/v2/`));
      assert.doesNotMatch(p.log(), new RegExp(`CONNECT ${secure.host}`), 'the exempt registry was reached through the proxy');
    });

    it('takes proxy: from gcrsync.yaml, and NO_PROXY=127.0.0.1 exempts every port of it', async () => {
      const p = await proxy();
      const config = `defaults:\n  proxy: ${p.url}\njobs:\n  - name: one\n    source: ${source.host}/lib\n    target: ${secure.host}/fromfile\n`;
      const proxied = await copy(secure.host, 'fromfile/app', ['--ca-file', ca.caFile], {}, { 'gcrsync.yaml': config });
      assert.equal(proxied.code, 0, proxied.stderr);
      await logShows(p, new RegExp(`CONNECT ${secure.host} `));
      await logShows(p, new RegExp(`GET http://${source.host}/v2/`));

      const before = p.log();
      const exempt = await copy(secure.host, 'fromfile2/app', ['--ca-file', ca.caFile], { NO_PROXY: '127.0.0.1' }, { 'gcrsync.yaml': config });
      assert.equal(exempt.code, 0, exempt.stderr);
      assert.equal(await headDigest(secureView, 'fromfile2/app', '1.0'), digest);
      assert.equal(p.log(), before, 'nothing went through the proxy');
    });

    it('names the proxy, the registry and NO_PROXY when the proxy refuses the tunnel', async () => {
      const p = await proxy({ connectPorts: [443] });
      const result = await copy(secure.host, 'refused/app', ['--ca-file', ca.caFile], { HTTPS_PROXY: p.url });
      assert.equal(result.code, 1, result.stderr);
      // the source is loopback, so HTTPS is tried first: through the proxy, which refuses
      assert.match(result.stderr + result.stdout, new RegExp(`proxy ${p.url}/? refused to connect to ${source.host} \\(HTTP 403\\).*NO_PROXY=${source.host}`));
      await logShows(p, new RegExp(`CONNECT ${source.host}`));
    });
  });

  describe('TLS trust', () => {
    it('refuses an unknown CA with a hint naming certs.d, --ca-file and --tls-skip-verify', async () => {
      const result = await copy(secure.host, 'untrusted/app');
      assert.equal(result.code, 1);
      const output = result.stderr + result.stdout;
      assert.match(output, new RegExp(`${secure.host} presented a TLS certificate that is not trusted \\(\\w+\\): put its CA in ~/\\.docker/certs\\.d/${secure.host}/ca\\.crt`));
      assert.match(output, new RegExp(`--tls-skip-verify ${secure.host}`));
      assert.equal(await headDigest(secureView, 'untrusted/app', '1.0').catch(() => undefined), undefined);
    });

    it('trusts --ca-file, reaching the registry by its IP SAN', async () => {
      const result = await copy(secure.host, 'cafile/app', ['--ca-file', ca.caFile]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await headDigest(secureView, 'cafile/app', '1.0'), digest);
    });

    it('trusts ~/.docker/certs.d/HOST:PORT/ca.crt, and --cert-dir DIR/localhost:PORT/ca.crt by name', async () => {
      const home = await tempDir('home');
      await mkdir(join(home, '.docker', 'certs.d', secure.host), { recursive: true });
      await copyFile(ca.caFile, join(home, '.docker', 'certs.d', secure.host, 'ca.crt'));
      const byHome = await copy(secure.host, 'home/app', [], { HOME: home });
      assert.equal(byHome.code, 0, byHome.stderr);
      assert.equal(await headDigest(secureView, 'home/app', '1.0'), digest);

      const certDir = await tempDir('certs.d');
      const named = `localhost:${port(secure)}`;
      await mkdir(join(certDir, named));
      await copyFile(ca.caFile, join(certDir, named, 'ca.crt'));
      const byName = await copy(named, 'named/app', ['--cert-dir', certDir]);
      assert.equal(byName.code, 0, byName.stderr);
      assert.equal(await headDigest(secureView, 'named/app', '1.0'), digest);
    });

    it('skips verification with --tls-skip-verify HOST or tls: skip-verify in the config', async () => {
      const flag = await copy(secure.host, 'skipflag/app', ['--tls-skip-verify', secure.host]);
      assert.equal(flag.code, 0, flag.stderr);
      assert.equal(await headDigest(secureView, 'skipflag/app', '1.0'), digest);
      const config = `defaults:\n  tls:\n    "${secure.host}": skip-verify\njobs:\n  - name: one\n    source: ${source.host}/lib\n    target: ${secure.host}/x\n`;
      const file = await copy(secure.host, 'skipfile/app', [], {}, { 'gcrsync.yaml': config });
      assert.equal(file.code, 0, file.stderr);
      assert.equal(await headDigest(secureView, 'skipfile/app', '1.0'), digest);
    });

    it('presents certs.d client.cert/client.key to a registry that demands a client certificate (mTLS)', async () => {
      const without = await copy(mutual.host, 'mtls/app', ['--ca-file', ca.caFile, '--verbose']);
      assert.equal(without.code, 1);
      // the registry's TLS alert is a refusal, not a network blip: no request is tried again
      assert.doesNotMatch(without.stderr + without.stdout, /retrying/);
      assert.match(without.stderr + without.stdout, new RegExp(`${mutual.host} closed the connection \\(other side closed\\); if it requires a client certificate, put client\\.cert and client\\.key in`));

      const client = await ca.client('mirror-bot');
      const certDir = await tempDir('certs.d');
      await mkdir(join(certDir, mutual.host));
      await copyFile(ca.caFile, join(certDir, mutual.host, 'ca.crt'));
      await copyFile(client.cert, join(certDir, mutual.host, 'client.cert'));
      await copyFile(client.key, join(certDir, mutual.host, 'client.key'));
      const result = await copy(mutual.host, 'mtls/app', ['--cert-dir', certDir]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await headDigest(mutualView, 'mtls/app', '1.0'), digest);
    });
  });

  describe('HTTP and HTTPS mixed up', () => {
    it('--insecure-registry on an HTTPS registry says it speaks HTTPS (not a bare HTTP 400)', async () => {
      const result = await copy(secure.host, 'mixed/app', ['--insecure-registry', secure.host]);
      assert.equal(result.code, 1);
      assert.match(result.stderr + result.stdout, new RegExp(`${secure.host} speaks HTTPS, not plain HTTP: drop it from --insecure-registry`));
    });

    it('tls: verify on a plain-HTTP registry says it answers plain HTTP and names --insecure-registry', async () => {
      const config = `defaults:\n  tls:\n    "${secureView.host}": verify\njobs:\n  - name: one\n    source: ${source.host}/lib\n    target: ${secureView.host}/x\n`;
      const result = await copy(secureView.host, 'plain/app', [], {}, { 'gcrsync.yaml': config });
      assert.equal(result.code, 1);
      assert.match(result.stderr + result.stdout, new RegExp(`${secureView.host} answers plain HTTP, not HTTPS: add --insecure-registry ${secureView.host}`));
    });

    it('a loopback registry is tried over HTTPS first and spoken to over HTTP when it answers that way', async () => {
      // the source is plain HTTP and named nowhere: it works, and so does an HTTPS one on loopback
      const result = await copy(secure.host, 'fallback/app', ['--ca-file', ca.caFile, '--verbose']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`loopback registry answers plain HTTP.*${source.host}`));
      assert.equal(await headDigest(secureView, 'fallback/app', '1.0'), digest);
    });
  });

  describe('IPv6', () => {
    let v6: TestRegistry;
    before(async () => {
      v6 = await startRegistry({ address: '::1' });
      await pushTestImage(v6, 'lib/app', '1.0');
    });
    after(() => v6?.stop());

    it('copies from [::1]:PORT, a loopback registry (HTTPS first, then HTTP), through the proxy unless NO_PROXY names ::1', async () => {
      assert.match(v6.host, /^\[::1\]:\d+$/);
      const p = await proxy();
      const run = async (repository: string, env: Record<string, string>) => {
        const remote = await bareRemote();
        return runCli(['copy', `${v6.host}/lib/app:1.0`, `${secureView.host}/${repository}:1.0`, '--metadata-repo', remote.url], { cwd: await tempDir('v6'), env });
      };
      const proxied = await run('v6proxied/app', { HTTP_PROXY: p.url, HTTPS_PROXY: p.url, NO_PROXY: secureView.host });
      assert.equal(proxied.code, 0, proxied.stderr);
      assert.equal(await headDigest(secureView, 'v6proxied/app', '1.0'), digest);
      await logShows(p, new RegExp(`GET http://\\[::1\\]:${port(v6)}/v2/lib/app/`));

      const before = p.log();
      const exempt = await run('v6exempt/app', { HTTP_PROXY: p.url, HTTPS_PROXY: p.url, NO_PROXY: `::1,${secureView.host}` });
      assert.equal(exempt.code, 0, exempt.stderr);
      assert.equal(await headDigest(secureView, 'v6exempt/app', '1.0'), digest);
      assert.equal(p.log(), before, 'nothing went through the proxy');
    });
  });
});
