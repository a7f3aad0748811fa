import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { applyUpdates } from '../../src/store/schema.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { terminate, track } from '../support/processes.js';
import { sleep, tempDir, waitFor } from '../support/temp.js';
import { toolPath } from '../support/tools.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));
const fixture = (name: string) => readFileSync(new URL(`../fixtures/admission/${name}`, import.meta.url), 'utf8');

/** A throwaway self-signed certificate for 127.0.0.1 (the test's CA bundle is the certificate itself). */
function makeCertificate(dir: string, name: string): { certFile: string; keyFile: string; cert: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    toolPath('openssl'),
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request that verifies the server against `ca`, on a fresh connection. */
function post(url: string, ca: string, body: string | undefined, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function patchOf(answer: Answer): { uid: string; allowed: boolean; patch?: unknown[] } {
  const review = JSON.parse(answer.body);
  assert.equal(review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(review.kind, 'AdmissionReview');
  const { uid, allowed, patchType, patch } = review.response;
  if (patch !== undefined) assert.equal(patchType, 'JSONPatch');
  return { uid, allowed, ...(patch !== undefined && { patch: JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) }) };
}

/**
 * The admission webhook as the API server sees it: the built CLI serving HTTPS with a certificate made here,
 * real AdmissionReview documents posted over TLS, the metadata repo a bare git remote that changes under it.
 */
describe('gcrsync webhook (CLI over TLS, end to end)', function () {
  this.timeout(120_000);
  let dir: string;
  let remote: BareRemote;
  let child: ChildProcess;
  let stderr = '';
  let base: string;
  let tls: ReturnType<typeof makeCertificate>;
  let exited: Promise<number | null>;
  const syncedAt = '2026-11-23T13:09:19.574Z';

  async function record(changes: Array<[string, string, string]>, message: string): Promise<void> {
    const repo = await openMetadataRepo({ location: remote.url, signal: UNINTERRUPTED });
    try {
      await repo.commit({
        changes: [
          {
            file: 'metadata/registry.k8s.io/_root.json',
            update: (current) =>
              applyUpdates(
                current,
                { source: 'registry.k8s.io', target: 'mirror.example/k8s' },
                changes.map(([repository, tag, target]) => ({ repository, tag, record: { digest: `sha256:${'1'.repeat(64)}`, target, syncedAt } })),
              ),
          },
        ],
        message,
        signal: UNINTERRUPTED,
      });
    } finally {
      await repo.close();
    }
  }

  before(async () => {
    dir = await tempDir('webhook-e2e');
    tls = makeCertificate(dir, 'webhook');
    remote = await bareRemote();
    await record([['pause', '3.9', 'mirror.example/k8s/pause:3.9']], 'seed');
    child = spawn(
      process.execPath,
      [entry, 'webhook', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--host', '127.0.0.1', '--port', '0', '--refresh', '1s', '--metadata-repo', remote.url],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    track({ name: 'gcrsync webhook', stop: () => terminate(child), kill: () => child.kill('SIGKILL') });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(async () => /webhook listening url=https:\/\/127\.0\.0\.1:\d+\/mutate/.test(stderr), 30_000, () => `the webhook did not start:\n${stderr}`);
    base = /url=(https:\/\/127\.0\.0\.1:\d+)\/mutate/.exec(stderr)![1]!;
  });

  after(async () => {
    if (child) await terminate(child);
    await remote?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers a Pod CREATE review with a JSONPatch for the mirrored image only, over verified TLS', async () => {
    const review = fixture('pod-create.json');
    const answer = await post(`${base}/mutate`, tls.cert, review);
    assert.equal(answer.status, 200, answer.body);
    const { uid, allowed, patch } = patchOf(answer);
    assert.equal(uid, JSON.parse(review).request.uid);
    assert.equal(allowed, true);
    assert.deepEqual(patch, [{ op: 'replace', path: '/spec/containers/1/image', value: 'mirror.example/k8s/pause:3.9' }]);
  });

  it('patches only the new ephemeral container of a pods/ephemeralcontainers update, and nothing on a plain update', async () => {
    assert.deepEqual(patchOf(await post(`${base}/mutate`, tls.cert, fixture('pod-ephemeral.json'))).patch, [
      { op: 'replace', path: '/spec/ephemeralContainers/1/image', value: 'mirror.example/k8s/pause:3.9' },
    ]);
    const update = patchOf(await post(`${base}/mutate`, tls.cert, fixture('pod-update.json')));
    assert.deepEqual(update, { uid: JSON.parse(fixture('pod-update.json')).request.uid, allowed: true });
  });

  it('refuses clients that do not trust its certificate, and is not reachable over plain HTTP', async () => {
    await assert.rejects(post(`${base}/mutate`, makeCertificate(dir, 'stranger').cert, fixture('pod-create.json')), /self[- ]signed|unable to verify|certificate/i);
    const plain = await fetch(base.replace('https:', 'http:') + '/healthz').then(
      (res) => res.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
  });

  it('logs a request name with a line break as one escaped value: it cannot forge a log line', async () => {
    const review = JSON.parse(fixture('pod-create.json'));
    review.request.name = 'web\nERROR forged by the request name';
    review.request.namespace = 'default\r\u2028WARN  forged too';
    const { patch } = patchOf(await post(`${base}/mutate`, tls.cert, JSON.stringify(review)));
    assert.ok(patch !== undefined, 'the mirrored image was rewritten, so the request was logged');
    await waitFor(async () => stderr.includes('forged by the request name'), 10_000, () => stderr);
    const lines = stderr.split(/\r\n|\r|\n|\u2028/);
    assert.ok(!lines.some((line) => /^(ERROR|WARN)\s+forged/.test(line)), stderr);
    assert.match(stderr, /pod=default\\r\\u2028WARN {2}forged too\/web\\nERROR forged by the request name/);
  });

  it('answers bad requests with 4xx (the API server then applies failurePolicy: Ignore) and /healthz with ok', async () => {
    assert.equal((await post(`${base}/mutate`, tls.cert, '{not json')).status, 400);
    assert.equal((await post(`${base}/mutate`, tls.cert, JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }))).status, 400);
    assert.equal((await post(`${base}/mutate`, tls.cert, undefined, 'GET')).status, 405);
    assert.equal((await post(`${base}/other`, tls.cert, '{}')).status, 404);
    assert.deepEqual(await post(`${base}/healthz`, tls.cert, undefined, 'GET'), { status: 200, body: 'ok\n' });
  });

  it('picks up newly mirrored images and a rotated certificate on its refresh schedule', async () => {
    const review = JSON.parse(fixture('pod-create.json'));
    review.request.object.spec.containers = [{ name: 'proxy', image: 'registry.k8s.io/kube-proxy:v1.28.0' }];
    review.request.object.spec.initContainers = [];
    const before = patchOf(await post(`${base}/mutate`, tls.cert, JSON.stringify(review)));
    assert.equal(before.patch, undefined, 'not mirrored yet: admitted unchanged');

    await record([['kube-proxy', 'v1.28.0', 'mirror.example/k8s/kube-proxy:v1.28.0']], 'kube-proxy');
    const rotated = makeCertificate(dir, 'rotated');
    await writeFile(tls.keyFile, readFileSync(rotated.keyFile));
    await writeFile(tls.certFile, rotated.cert);
    let patch: unknown[] | undefined;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        patch = patchOf(await post(`${base}/mutate`, rotated.cert, JSON.stringify(review))).patch;
        if (patch !== undefined) break;
      } catch {
        // still serving the old certificate
      }
      await sleep(250);
    }
    assert.deepEqual(patch, [{ op: 'replace', path: '/spec/containers/0/image', value: 'mirror.example/k8s/kube-proxy:v1.28.0' }], stderr);
    assert.match(stderr, /TLS certificate reloaded/);
  });

  it('the example manifest fits the CLI: flags it knows, the same port and path, failurePolicy Ignore', async () => {
    const docs = parseAllDocuments(readFileSync(new URL('../../examples/webhook/webhook.yaml', import.meta.url), 'utf8')).map((doc) => doc.toJS());
    const byKind = (kind: string) => docs.find((doc) => doc.kind === kind) ?? assert.fail(`no ${kind}`);
    const container = byKind('Deployment').spec.template.spec.containers[0];
    const service = byKind('Service');
    const webhook = byKind('MutatingWebhookConfiguration').webhooks[0];
    const help = execFileSync(process.execPath, [entry, 'webhook', '--help'], { encoding: 'utf8' });
    assert.equal(container.args[0], 'webhook');
    for (const arg of container.args.slice(1)) assert.ok(help.includes(arg.split('=')[0]), `${arg} is a webhook flag`);
    const port = Number(container.args.find((arg: string) => arg.startsWith('--port=')).split('=')[1]);
    assert.equal(container.ports[0].containerPort, port);
    assert.equal(service.spec.ports[0].targetPort, container.ports[0].name);
    assert.equal(webhook.clientConfig.service.port, service.spec.ports[0].port);
    assert.equal(webhook.clientConfig.service.path, '/mutate');
    assert.equal(container.readinessProbe.httpGet.path, '/healthz');
    assert.equal(webhook.failurePolicy, 'Ignore');
    assert.equal(webhook.sideEffects, 'None');
    assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
    assert.deepEqual(webhook.rules.map((rule: { resources: string[]; operations: string[] }) => [rule.resources, rule.operations]), [
      [['pods'], ['CREATE']],
      [['pods/ephemeralcontainers'], ['UPDATE']],
    ]);
  });

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /webhook stopped/);
  });
});

describe('gcrsync webhook refresh loop (CLI)', function () {
  this.timeout(150_000);

  it('refreshes round after round without piling abort listeners onto its stop signal', async () => {
    const dir = await tempDir('webhook-refresh');
    const tls = makeCertificate(dir, 'webhook');
    const remote = await bareRemote();
    const child = spawn(
      process.execPath,
      [entry, 'webhook', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--host', '127.0.0.1', '--port', '0', '--refresh', '1s', '--metadata-repo', remote.url, '--verbose'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const untrack = track({ name: 'gcrsync webhook', stop: () => terminate(child), kill: () => child.kill('SIGKILL') });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      // a listener per round passes the default limit of 10 in the 11th round
      await waitFor(async () => (stderr.match(/metadata refreshed/g)?.length ?? 0) >= 12, 90_000, () => `the webhook did not refresh 12 times:\n${stderr}`);
    } finally {
      await terminate(child);
      untrack();
      await remote.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
    assert.doesNotMatch(stderr, /MaxListenersExceededWarning/);
  });
});
