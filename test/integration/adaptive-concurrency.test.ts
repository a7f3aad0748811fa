import assert from 'node:assert/strict';
import { jobConcurrency } from '../../src/cli/concurrency.js';
import { resolveJobs } from '../../src/config/settings.js';
import { HttpClient } from '../../src/http/client.js';
import { createKeychain } from '../../src/auth/keychain.js';
import { UNINTERRUPTED } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { runSync } from '../../src/reconcile/run.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace } from '../../src/sources/index.js';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { createRegistryTransport } from '../../src/transports/registry.js';
import { DEFAULT_IMAGE_CONCURRENCY } from '../../src/reconcile/execute.js';
import { runCli } from '../support/cli.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote } from '../support/git.js';
import { pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const NAMESPACE = 'far';
// 32 images: three times the starting number, so images still wait to start while the number grows
const REPOSITORIES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => `${NAMESPACE}/${name}`);
const TAGS = ['1', '2', '3', '4'];
const IMAGES = REPOSITORIES.length * TAGS.length;
const ADDED_LATENCY_MS = 50;

const BY_TAG = /^\/v2\/(.+)\/manifests\/(?!sha256)[^/]+$/;

/**
 * Images in flight as the proxies saw them: an image starts with the source manifest GET by tag (the first request
 * of a copy) and ends with the manifest PUT by tag at the target (its last: the answer names the digest, which
 * verifies the copy). Both are logged once the proxy's
 * latency has passed, so the count never exceeds what really ran at once. Returns the count each image start saw,
 * itself included, in the order the images started.
 */
function inFlightAtStarts(source: FaultProxy, target: FaultProxy, prefix: string): number[] {
  const events = [
    ...source.log.filter((r) => r.method === 'GET' && r.fault === undefined && BY_TAG.test(r.url)).map((r) => ({ at: r.at, step: 1 })),
    ...target.log
      .filter((r) => r.method === 'PUT' && r.fault === undefined && BY_TAG.test(r.url) && r.url.startsWith(`/v2/${prefix}/`))
      .map((r) => ({ at: r.at, step: -1 })),
  ].sort((a, b) => a.at - b.at || a.step - b.step);
  const seen: number[] = [];
  let inFlight = 0;
  for (const event of events) {
    inFlight += event.step;
    if (event.step === 1) seen.push(inFlight);
  }
  return seen;
}

/**
 * Adaptive image concurrency against real registries made far away by a proxy holding every request: more images
 * in flight at 50 ms than the 10 it starts with, without any flag; `--concurrency` kept as given; a target answering
 * 429s brings the images in flight down. Counted at the proxies, never by wall time. (That it stays at 10 next door
 * is the unit test's: on a loaded machine a loopback registry can take 10-300 ms to answer, as far as one 50 ms away.)
 */
describe('adaptive concurrency: images in flight follow the registries (real registries behind latency and 429 proxies)', function () {
  this.timeout(300_000);
  let upstream: TestRegistry;
  let target: TestRegistry;
  let front: GcrFront;

  before(async () => {
    upstream = await startRegistry();
    target = await startRegistry();
    for (const repository of REPOSITORIES) {
      for (const tag of TAGS) await pushTestImage(upstream, repository, tag, { sharedLayer: 'far-base', layerBytes: 4 * 1024 });
    }
    front = await gcrFront(upstream, { cacheListings: true });
  });
  after(async () => {
    await front?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  /** The built CLI's first sync of the namespace to a new prefix at `source` and `target`. */
  async function cliSync(source: string, target: string, flags: string[] = []): Promise<void> {
    const remote = await bareRemote();
    try {
      const result = await runCli(['sync', '--source', `${source}/${NAMESPACE}`, '--target', target, '--metadata-repo', remote.url, '--json', ...flags], {
        env: { DOCKER_CONFIG: '/nonexistent/gcrsync-test' },
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { outcomes: Array<{ status: string }> };
      assert.equal(report.outcomes.filter((o) => o.status === 'synced').length, IMAGES);
    } finally {
      await remote.cleanup();
    }
  }

  /** The same, both registries `latencyMs` away behind proxies: how many images each image start saw in flight. */
  async function farSync(prefix: string, latencyMs: number, flags: string[] = []): Promise<number[]> {
    const source = await startFaultProxy(front.url, { seed: prefix, rate: 0, latencyMs });
    const far = await startFaultProxy(target.url, { seed: prefix, rate: 0, latencyMs });
    try {
      await cliSync(source.host, `${far.host}/${prefix}`, flags);
      const seen = inFlightAtStarts(source, far, prefix);
      assert.equal(seen.length, IMAGES, 'one source manifest GET by tag per image');
      return seen;
    } finally {
      await source.stop();
      await far.stop();
    }
  }

  it('holds more images in flight 50 ms away than it starts with, and keeps --concurrency as given', async () => {
    const far = Math.max(...(await farSync('far', ADDED_LATENCY_MS)));
    const fixed = Math.max(...(await farSync('fixed', ADDED_LATENCY_MS, ['--concurrency', '10'])));
    console.log(`      most images in flight at once 50 ms away: ${far}, ${fixed} with --concurrency 10`);
    assert.ok(far > DEFAULT_IMAGE_CONCURRENCY, `50 ms away at most ${far} images were in flight at once`);
    assert.ok(fixed <= 10, `--concurrency 10 had ${fixed} images in flight at once`);
  });

  it('brings the images in flight down when the target answers 429s', async () => {
    /** An in-process sync (a quick retry policy, so the 429s cost little time) with the CLI's adaptive wiring. */
    const sync = async (prefix: string, throttled: number) => {
      const source = await startFaultProxy(front.url, { seed: prefix, rate: 0, latencyMs: ADDED_LATENCY_MS });
      const far = await startFaultProxy(target.url, { seed: prefix, rate: throttled, kinds: ['status-429'], retryAfterSeconds: 0, latencyMs: ADDED_LATENCY_MS });
      const remote = await bareRemote();
      const http = new HttpClient({ retry: { retries: 8, baseDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 1000 } });
      // the command line's wiring, for a job that sets no concurrency
      const concurrency = jobConcurrency(http, silentLogger);
      const job = resolveJobs(undefined, { source: `${source.host}/${NAMESPACE}`, target: `${far.host}/${prefix}` }, {}).jobs[0]!;
      const client = new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/gcrsync-test/config.json' }), logger: silentLogger });
      const metadata = await openMetadataRepo({ location: remote.url, logger: silentLogger, signal: UNINTERRUPTED });
      try {
        const report = await runSync(
          {
            logger: silentLogger,
            metadata,
            listSource: (location, signal) => listNamespace(client, location, { queryLimit: 8, logger: silentLogger, signal }),
            headTarget: (repo, reference, signal) => client.headManifest(repo, reference, signal),
            createTransport: () => createRegistryTransport({ client, logger: silentLogger, blobConcurrency: concurrency.blobs(job) }),
          },
          { source: { registry: source.host, namespace: NAMESPACE }, target: { registry: far.host, path: prefix }, concurrency: concurrency.images(job), queryLimit: 8, dryRun: false, signal: UNINTERRUPTED },
        );
        assert.equal(report.outcomes.filter((o) => o.status === 'synced').length, IMAGES);
        return { seen: inFlightAtStarts(source, far, prefix), throttledAnswers: far.stats().byKind['status-429'] };
      } finally {
        await http.close();
        await metadata.close();
        await source.stop();
        await far.stop();
        await remote.cleanup();
      }
    };
    const clean = await sync('clean', 0);
    const throttled = await sync('throttled', 0.3);
    // the last images to start: by then the number at a time has had the whole run to grow, or to come down
    const late = (seen: number[]) => Math.max(...seen.slice(-8));
    console.log(`      the last 8 images started beside at most ${late(clean.seen)} (no 429s), ${late(throttled.seen)} (${throttled.throttledAnswers} 429s)`);
    assert.ok(throttled.throttledAnswers > 20, `${throttled.throttledAnswers} answers were 429s`);
    assert.ok(late(clean.seen) > DEFAULT_IMAGE_CONCURRENCY, `without 429s the last images started beside at most ${late(clean.seen)}: ${clean.seen.join(' ')}`);
    assert.ok(late(throttled.seen) < DEFAULT_IMAGE_CONCURRENCY, `with 429s the last images started beside up to ${late(throttled.seen)}: ${throttled.seen.join(' ')}`);
  });
});
