import assert from 'node:assert/strict';
import { GcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { Descriptor, Manifest } from '../../src/registry/schemas.js';
import { copyFollowers, type FollowerDeps } from '../../src/transports/referrers.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const image = d('a');
const hex = 'a'.repeat(64);
const source = { registry: 'src.example', repository: 'ns/app' };
const target = { registry: 'dst.example', repository: 'app' };
const sbom: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('b'), size: 10, artifactType: 'application/spdx+json' };
const older: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('c'), size: 11 };

/** A scripted follower world: what each side's referrers API answers, what the target's fallback tag holds. */
function world(options: { sourceApi?: Descriptor[] | Error; targetApi?: boolean; targetFallback?: Descriptor[] }) {
  const log: string[] = [];
  const warnings: string[] = [];
  const deps: FollowerDeps = {
    logger: silentLogger,
    warn: (message) => warnings.push(message),
    copyTag: async (tag) => {
      log.push(`copy tag ${tag}`);
      return { kind: 'index', mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [sbom, older] } as Manifest;
    },
    copyManifest: async (descriptor) => void log.push(`copy ${descriptor.digest}`),
    client: {
      getReferrers: async (repo) => {
        if (repo === source) {
          if (options.sourceApi instanceof Error) throw options.sourceApi;
          return options.sourceApi;
        }
        return options.targetApi ? [] : undefined;
      },
      headManifest: async () => (options.targetFallback ? { digest: d('f'), mediaType: 'application/vnd.oci.image.index.v1+json', size: 1 } : undefined),
      getManifest: async () => {
        const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: options.targetFallback }));
        return { digest: d('f'), mediaType: 'application/vnd.oci.image.index.v1+json', size: bytes.length, bytes };
      },
      putManifest: async (repo, reference, bytes) => {
        log.push(`put ${repo.repository}:${reference} ${(JSON.parse(bytes.toString()) as { manifests: Descriptor[] }).manifests.map((m) => m.digest).join(',')}`);
        return { digest: d('e'), confirmed: true };
      },
    },
  };
  return { deps, log, warnings };
}

describe('copyFollowers', () => {
  const tags = [`sha256-${hex}.sig`, `sha256-${hex}.att`, `sha256-${hex}`];

  it('copies the signature tags, then the referrers the API lists, and adds them to a target fallback tag', async () => {
    const { deps, log } = world({ sourceApi: [sbom], targetFallback: [older] });
    const found = await copyFollowers(deps, { source, target, digest: image, digestTags: tags, referrers: true }, UNINTERRUPTED);
    assert.deepEqual(found, { signatures: 2, referrers: 1 });
    assert.deepEqual(log, [`copy tag sha256-${hex}.sig`, `copy tag sha256-${hex}.att`, `copy ${sbom.digest}`, `put app:sha256-${hex} ${older.digest},${sbom.digest}`]);
  });

  it('leaves the fallback tag alone at a target with the referrers API', async () => {
    const { deps, log } = world({ sourceApi: [sbom], targetApi: true });
    await copyFollowers(deps, { source, target, digest: image, digestTags: [], referrers: true }, UNINTERRUPTED);
    assert.deepEqual(log, [`copy ${sbom.digest}`]);
  });

  it('copies the source fallback tag where the API is missing or answers an error (with a warning)', async () => {
    for (const sourceApi of [undefined, new GcrsyncError('AUTH', 'HTTP 401 on an unknown route')]) {
      const { deps, log, warnings } = world({ ...(sourceApi !== undefined && { sourceApi }) });
      const found = await copyFollowers(deps, { source, target, digest: image, digestTags: tags, referrers: true }, UNINTERRUPTED);
      assert.deepEqual(found, { signatures: 2, referrers: 2 });
      assert.equal(log.at(-1), `copy tag sha256-${hex}`);
      assert.equal(warnings.length, sourceApi === undefined ? 0 : 1);
    }
  });

  it('copies no referrer with referrers off, signatures still', async () => {
    const { deps, log } = world({ sourceApi: [sbom] });
    assert.deepEqual(await copyFollowers(deps, { source, target, digest: image, digestTags: tags, referrers: false }, UNINTERRUPTED), { signatures: 2, referrers: 0 });
    assert.deepEqual(log, [`copy tag sha256-${hex}.sig`, `copy tag sha256-${hex}.att`]);
  });
});
