import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createKeychain } from '../../src/auth/keychain.js';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/log.js';
import { runSync } from '../../src/reconcile/run.js';
import type { RunDeps, RunReport } from '../../src/reconcile/run-types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace } from '../../src/sources/index.js';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { listRecords, parseMetadata } from '../../src/store/schema.js';
import { createRegistryTransport } from '../../src/transports/registry.js';
import { runCli } from '../support/cli.js';
import { ALL_FAULT_KINDS, startFaultProxy, type FaultKind, type FaultProxy } from '../support/fault-proxy.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { getManifest, headDigest, listTags, pushTestImage, registryRequest, type RegistryEndpoint } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { UNINTERRUPTED } from '../../src/errors.js';

/** An auth-less test registry as the image helpers address it. */
const plain = (registry: TestRegistry): RegistryEndpoint => ({ url: registry.url });

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Rig {
  upstream: TestRegistry;
  front: GcrFront;
  target: TestRegistry;
  sourceFaults: FaultProxy;
  targetFaults: FaultProxy;
}

/** The images of the namespace: nested repositories, a shared base layer (mounts), multi-platform indexes. */
const IMAGES: Array<{ repository: string; tag: string; platforms?: string[] }> = [
  { repository: 'ns/pause', tag: '3.1' },
  { repository: 'ns/pause', tag: '3.2' },
  { repository: 'ns/pause', tag: '3.3', platforms: ['linux/amd64', 'linux/arm64'] },
  { repository: 'ns/sub/app', tag: 'v1' },
  { repository: 'ns/sub/app', tag: 'v2', platforms: ['linux/amd64', 'linux/arm64', 'linux/ppc64le'] },
  { repository: 'ns/sub/app', tag: 'latest' },
  { repository: 'ns/sub/deeper/tool', tag: '1.0' },
  { repository: 'ns/sub/deeper/tool', tag: '1.1' },
  { repository: 'ns/etcd', tag: '3.5.0', platforms: ['linux/amd64', 'linux/arm64'] },
  { repository: 'ns/etcd', tag: '3.5.1' },
  { repository: 'ns/coredns', tag: '1.9' },
  { repository: 'ns/coredns', tag: '1.10' },
];

/** A second, small namespace for the runs that repeat per fault kind. */
const SMALL: typeof IMAGES = [
  { repository: 'small/a', tag: '1' },
  { repository: 'small/a', tag: '2', platforms: ['linux/amd64', 'linux/arm64'] },
  { repository: 'small/b/c', tag: '1' },
  { repository: 'small/d', tag: '1' },
];

/**
 * A sync through proxies that fault a share of all requests, on the source (listing, manifests, blobs) and on
 * the target (auth challenges, HEADs, mounts, uploads, manifest PUTs), through the runSync API with the real
 * clients. What must hold: the run finishes, everything recorded is at the target with the source digest,
 * and every manifest and blob at the target is intact.
 */
describe('faults: sync through fault-injecting proxies', function () {
  this.timeout(120_000);
  let rig: Rig;

  before(async () => {
    const upstream = await startRegistry();
    const target = await startRegistry({ auth: 'htpasswd', users: { mirror: 'faults-target-pass' } });
    for (const image of [...IMAGES, ...SMALL]) {
      // layers big enough that a truncated body is cut in the middle of a stream
      await pushTestImage(plain(upstream), image.repository, image.tag, { sharedLayer: 'faults-base', layerBytes: 96 * 1024, ...(image.platforms && { platforms: image.platforms }) });
    }
    const front = await gcrFront(plain(upstream), { cacheListings: true });
    rig = {
      upstream,
      front,
      target,
      sourceFaults: await startFaultProxy(front.url, { seed: 'source', rate: 0 }),
      targetFaults: await startFaultProxy(target.url, { seed: 'target', rate: 0 }),
    };
  });
  after(async () => {
    await rig?.sourceFaults.stop();
    await rig?.targetFaults.stop();
    await rig?.front.stop();
    await rig?.upstream.stop();
    await rig?.target.stop();
  });


  async function sync(remote: BareRemote, prefix: string, namespace = 'ns'): Promise<{ report: RunReport; warnings: string[] }> {
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => warnings.push(line) });
    // short backoff so the test stays quick; Retry-After answers are still honoured as sent (1 s)
    const http = new HttpClient({ logger, retry: { retries: 4, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 } });
    const keychain = createKeychain({
      explicit: { [rig.targetFaults.host]: rig.target.credentials! },
      dockerConfigPath: '/nonexistent/gcrsync-test/config.json',
    });
    const client = new RegistryClient({ http, keychain, logger });
    const metadata = await openMetadataRepo({ location: remote.url, logger, signal: UNINTERRUPTED });
    const deps: RunDeps = {
      logger,
      metadata,
      listSource: (source, signal) => listNamespace(client, source, { queryLimit: 8, logger, signal }),
      headTarget: (repo, reference, signal) => client.headManifest(repo, reference, signal),
      createTransport: () => createRegistryTransport({ client, logger }),
    };
    try {
      const report = await runSync(deps, {
        source: { registry: rig.sourceFaults.host, namespace },
        target: { registry: rig.targetFaults.host, path: prefix },
        concurrency: 4,
        queryLimit: 8,
        dryRun: false,
        signal: UNINTERRUPTED,
      });
      return { report, warnings };
    } finally {
      await http.close();
      await metadata.close();
    }
  }

  /** Every record names a target tag that answers with the recorded digest, which is the source digest. */
  async function checkRecords(remote: BareRemote, prefix: string, namespace = 'ns'): Promise<number> {
    const file = `metadata/${rig.sourceFaults.host.replace(':', '_')}/${namespace}.json`;
    const metadata = parseMetadata(await remote.show(file), file);
    const records = listRecords(metadata);
    for (const { repository, tag, record } of records) {
      assert.equal(record.target, `${rig.targetFaults.host}/${prefix}/${repository}:${tag}`);
      assert.equal(record.targetDigest, undefined, 'registry transport preserves digests');
      assert.equal(record.digest, await headDigest(plain(rig.upstream), `${namespace}/${repository}`, tag), `${repository}:${tag} records the source digest`);
      assert.equal(await headDigest(rig.target, `${prefix}/${repository}`, tag), record.digest, `${repository}:${tag} is at the target`);
    }
    return records.length;
  }

  /**
   * Nothing corrupt was pushed: every tag under the prefix points at the source's manifest, and every manifest
   * and blob it reaches reads back with the bytes its digest names.
   */
  async function checkTargetIntact(prefix: string, images = IMAGES): Promise<{ manifests: number; blobs: number }> {
    let manifests = 0;
    const blobs = new Set<string>();
    const verifyManifest = async (repository: string, reference: string): Promise<void> => {
      const manifest = await getManifest(rig.target, repository, reference);
      if (reference.startsWith('sha256:')) assert.equal(manifest.digest, reference, `${repository}@${reference} bytes`);
      manifests++;
      const json = manifest.json as { manifests?: Array<{ digest: string }>; config?: { digest: string; size: number }; layers?: Array<{ digest: string; size: number }> };
      for (const child of json.manifests ?? []) await verifyManifest(repository, child.digest);
      for (const blob of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
        const res = await registryRequest(rig.target, `repository:${repository}:pull`, `/v2/${repository}/blobs/${blob.digest}`);
        assert.equal(res.status, 200, `${repository}@${blob.digest} is at the target`);
        const bytes = Buffer.from(await res.arrayBuffer());
        assert.equal(bytes.length, blob.size, `${repository}@${blob.digest} size`);
        assert.equal(sha256(bytes), blob.digest, `${repository}@${blob.digest} content`);
        blobs.add(`${repository}@${blob.digest}`);
      }
    };
    for (const image of images) {
      const repository = `${prefix}/${image.repository.slice(image.repository.indexOf('/') + 1)}`;
      for (const tag of await listTags(rig.target, repository)) {
        assert.ok(images.some((i) => i.repository === image.repository && i.tag === tag), `${repository}:${tag} was never at the source`);
        const digest = await headDigest(rig.target, repository, tag);
        assert.equal(digest, await headDigest(plain(rig.upstream), image.repository, tag), `${repository}:${tag} points at the source manifest`);
      }
      if ((await listTags(rig.target, repository)).includes(image.tag)) await verifyManifest(repository, image.tag);
    }
    return { manifests, blobs: blobs.size };
  }

  function reset(rate: number): { source: FaultProxy; target: FaultProxy } {
    for (const proxy of [rig.sourceFaults, rig.targetFaults]) proxy.setRate(rate);
    return { source: rig.sourceFaults, target: rig.targetFaults };
  }

  /** A pair of proxies of their own that inject only `kind`, in front of the same registries. */
  async function proxiesFor(kind: FaultKind, rate: number): Promise<{ source: FaultProxy; target: FaultProxy }> {
    return {
      source: await startFaultProxy(rig.front.url, { seed: `source ${kind}`, rate, kinds: [kind], slowMs: 150 }),
      target: await startFaultProxy(rig.target.url, { seed: `target ${kind}`, rate, kinds: [kind], slowMs: 150 }),
    };
  }

  it('completes with 10 % of all requests faulted (5xx, 429 + Retry-After, resets, truncated bodies, slow answers)', async () => {
    const remote = await bareRemote();
    const prefix = 'mixed';
    const { source, target } = reset(0.1);
    const before = { source: source.stats(), target: target.stats() };
    const started = Date.now();
    const { report, warnings } = await sync(remote, prefix);
    const seconds = (Date.now() - started) / 1000;
    const delta = (proxy: FaultProxy, was: { requests: number; faulted: number }) => ({
      requests: proxy.stats().requests - was.requests,
      faulted: proxy.stats().faulted - was.faulted,
    });
    const figures = { source: delta(source, before.source), target: delta(target, before.target) };
    const failed = report.outcomes.filter((o) => o.status === 'failed');
    const synced = report.outcomes.filter((o) => o.status === 'synced');
    reset(0);
    const recorded = await checkRecords(remote, prefix);
    const intact = await checkTargetIntact(prefix);
    console.log(
      `      faults: source ${figures.source.faulted}/${figures.source.requests} requests faulted, target ${figures.target.faulted}/${figures.target.requests}; ` +
        `${synced.length} synced, ${failed.length} failed, ${recorded} recorded, ${intact.manifests} manifests and ${intact.blobs} blobs verified at the target in ${seconds.toFixed(1)} s`,
    );
    assert.ok(figures.source.faulted + figures.target.faulted >= 10, 'enough faults were injected to mean something');
    assert.deepEqual(failed.map((o) => o.error), [], `no image failed; warnings:\n${warnings.join('\n')}`);
    assert.deepEqual(report.problems, []);
    assert.equal(synced.length, IMAGES.length);
    assert.equal(recorded, IMAGES.length);
  });

  for (const kind of ALL_FAULT_KINDS) {
    it(`completes the small namespace with 15 % of requests meeting only ${kind}`, async () => {
      const proxies = await proxiesFor(kind, 0.15);
      const saved = { source: rig.sourceFaults, target: rig.targetFaults };
      rig.sourceFaults = proxies.source;
      rig.targetFaults = proxies.target;
      try {
        const remote = await bareRemote();
        const prefix = `only-${kind}`;
        const { report, warnings } = await sync(remote, prefix, 'small');
        const faulted = proxies.source.stats().faulted + proxies.target.stats().faulted;
        const requests = proxies.source.stats().requests + proxies.target.stats().requests;
        proxies.source.setRate(0);
        proxies.target.setRate(0);
        const recorded = await checkRecords(remote, prefix, 'small');
        const intact = await checkTargetIntact(prefix, SMALL);
        console.log(`      ${kind}: ${faulted}/${requests} requests faulted; ${recorded} recorded, ${intact.manifests} manifests and ${intact.blobs} blobs verified`);
        assert.ok(faulted >= 3, `some ${kind} faults were injected (${faulted})`);
        assert.deepEqual(report.outcomes.filter((o) => o.status !== 'synced').map((o) => o.error), [], warnings.join('\n'));
        assert.deepEqual(report.problems, []);
        assert.equal(recorded, SMALL.length);
        if (kind === 'status-429' || kind === 'status-503') {
          // the next attempt at a read that met Retry-After: 1 came no sooner than a second later (uploads are left
          // out: concurrent sessions of one repository share a URL)
          let checked = 0;
          for (const proxy of [proxies.source, proxies.target]) {
            proxy.log.forEach((record, i) => {
              if (record.fault !== kind || (record.method !== 'GET' && record.method !== 'HEAD')) return;
              const retry = proxy.log.slice(i + 1).find((later) => later.method === record.method && later.url === record.url);
              if (!retry) return;
              checked++;
              assert.ok(retry.at - record.at >= 950, `${record.method} ${record.url} retried after ${retry.at - record.at} ms`);
            });
          }
          assert.ok(checked > 0, 'some retries after Retry-After were seen');
        }
      } finally {
        rig.sourceFaults = saved.source;
        rig.targetFaults = saved.target;
        await proxies.source.stop();
        await proxies.target.stop();
      }
    });
  }

  it('the built CLI, with its default retry policy, exits 0 through 10 % faults on both sides', async () => {
    const remote = await bareRemote();
    const prefix = 'cli';
    const { source, target } = reset(0.1);
    const before = source.stats().faulted + target.stats().faulted;
    const result = await runCli(
      ['sync', '--source', `${source.host}/small`, '--target', `${target.host}/${prefix}`, '--metadata-repo', remote.url, '--json', '--concurrency', '2'],
      { env: { GCRSYNC_USERNAME: rig.target.credentials!.username, GCRSYNC_PASSWORD: rig.target.credentials!.password, DOCKER_CONFIG: '/nonexistent/gcrsync-test' } },
    );
    const faulted = source.stats().faulted + target.stats().faulted - before;
    reset(0);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as RunReport;
    assert.equal(report.outcomes.filter((o) => o.status === 'synced').length, SMALL.length);
    assert.equal(await checkRecords(remote, prefix, 'small'), SMALL.length);
    await checkTargetIntact(prefix, SMALL);
    console.log(`      CLI: ${faulted} requests faulted, ${SMALL.length} images synced and verified`);
  });
});
