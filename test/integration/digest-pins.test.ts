import assert from 'node:assert/strict';
import { createKeychain } from '../../src/auth/keychain.js';
import { MirrorIndex } from '../../src/browse/lookup.js';
import { HttpClient } from '../../src/http/client.js';
import { reviewAdmission } from '../../src/kube/admission.js';
import { rewriteManifests } from '../../src/kube/rewrite.js';
import { createLogger } from '../../src/log.js';
import { runSync } from '../../src/reconcile/run.js';
import type { RunDeps } from '../../src/reconcile/run-types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace } from '../../src/sources/index.js';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { parseMetadata } from '../../src/store/schema.js';
import { createRegistryTransport } from '../../src/transports/registry.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote } from '../support/git.js';
import { headDigest, pushTestImage, type PushedImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { UNINTERRUPTED } from '../../src/errors.js';

/**
 * A tag that moves between the listing and the copy: the copy takes the new content B, and the record must say B.
 * Recording the listed digest A with `targetDigest: B` made `where …@A`, `rewrite` and the webhook turn a Pod
 * pinned to A into a Pod pinned to B, which is other content.
 */
describe('digest pins: a tag moved between listing and copy', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let target: TestRegistry;
  let front: GcrFront;
  let before: PushedImage;
  let after: PushedImage | undefined;

  beforeEach(async () => {
    upstream = await startRegistry();
    target = await startRegistry();
    before = await pushTestImage({ url: upstream.url }, 'ns/app', 'v1', { seed: 'listed content A' });
    front = await gcrFront({ url: upstream.url });
  });
  afterEach(async () => {
    await front?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  it('records the digest actually copied, and no lookup maps a pin of the listed digest to the copied one', async () => {
    const remote = await bareRemote();
    const logger = createLogger({ level: 'error', write: () => {} });
    const http = new HttpClient({ logger });
    const client = new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/gcrsync-test/config.json' }), logger });
    const metadata = await openMetadataRepo({ location: remote.url, logger, signal: UNINTERRUPTED });
    const deps: RunDeps = {
      logger,
      metadata,
      listSource: async (source, signal) => {
        const listing = await listNamespace(client, source, { queryLimit: 4, logger, ...(signal && { signal }) });
        // the tag moves right after the listing saw A
        after = await pushTestImage({ url: upstream.url }, 'ns/app', 'v1', { seed: 'moved content B' });
        return listing;
      },
      headTarget: (repo, reference, signal) => client.headManifest(repo, reference, signal),
      createTransport: () => createRegistryTransport({ client, logger }),
    };
    let report;
    try {
      report = await runSync(deps, {
        source: { registry: front.host, namespace: 'ns' },
        target: { registry: target.host, path: 'm' },
        concurrency: 1,
        queryLimit: 4,
        dryRun: false,
        signal: UNINTERRUPTED,
      });
    } finally {
      await http.close();
      await metadata.close();
    }
    assert.ok(after !== undefined && after.digest !== before.digest);
    assert.equal(report.planned[0]?.digest, before.digest, 'the listing saw A');
    assert.equal(await headDigest({ url: target.url }, 'm/app', 'v1'), after.digest, 'the copy took B');
    assert.equal(report.outcomes[0]?.digest, after.digest, 'the report names the content copied');

    const file = `metadata/${front.host.replace(':', '_')}/ns.json`;
    const recorded = parseMetadata(await remote.show(file), file);
    const record = recorded.images['app']?.['v1'];
    assert.equal(record?.digest, after.digest, 'the record says B');
    assert.equal(record?.targetDigest, undefined, 'B is at the mirror as it is at the source');

    const index = new MirrorIndex([{ file, metadata: recorded }]);
    const pinnedA = `${front.host}/ns/app@${before.digest}`;
    const pinnedB = `${front.host}/ns/app@${after.digest}`;
    assert.equal(index.resolve(pinnedA).mirrored, false, '`where …@A` finds no mirror');
    const resolvedB = index.resolve(pinnedB);
    assert.ok(resolvedB.mirrored);
    assert.equal(resolvedB.match.mirror, `${target.host}/m/app@${after.digest}`);

    const manifest = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pinned\nspec:\n  containers:\n    - name: a\n      image: ${pinnedA}\n`;
    const rewritten = rewriteManifests(manifest, index);
    assert.equal(rewritten.text, manifest, 'rewrite leaves the pin of A alone');
    assert.equal(rewritten.notMirrored.length, 1);

    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u1', kind: { kind: 'Pod' }, operation: 'CREATE', object: { spec: { containers: [{ name: 'a', image: pinnedA }] } } },
    };
    const decision = reviewAdmission(review, index);
    assert.deepEqual(decision.patched, [], 'the webhook does not repin A to B');
    assert.equal((decision.body as { response: { patch?: string } }).response.patch, undefined);
  });
});
