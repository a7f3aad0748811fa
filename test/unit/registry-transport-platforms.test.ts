import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isGcrsyncError } from '../../src/errors.js';
import { parseManifest, type Descriptor } from '../../src/registry/schemas.js';
import {
  configPlatform,
  filterIndexBytes,
  indexPlatforms,
  isAttestation,
  parsePlatformFilter,
  platformMatches,
  selectChildren,
} from '../../src/transports/platform-filter.js';

const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const D = { amd64: digestOf('amd64'), arm64: digestOf('arm64'), armv7: digestOf('armv7'), att1: digestOf('att1'), att2: digestOf('att2') };
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const child = (digest: string, os: string, architecture: string, variant?: string): Descriptor => ({
  mediaType: OCI_MANIFEST,
  digest,
  size: 500,
  platform: { os, architecture, ...(variant && { variant }) },
});
const attestation = (digest: string, subject: string): Descriptor => ({
  ...child(digest, 'unknown', 'unknown'),
  annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject },
});
const INDEX_CHILDREN = [
  child(D.amd64, 'linux', 'amd64'),
  child(D.arm64, 'linux', 'arm64', 'v8'),
  child(D.armv7, 'linux', 'arm', 'v7'),
  attestation(D.att1, D.amd64),
  attestation(D.att2, D.arm64),
];

function expectCode(code: string, fn: () => unknown) {
  assert.throws(fn, (error: unknown) => isGcrsyncError(error) && error.code === code);
}

describe('registry transport: platform filter', () => {
  describe('platform filters', () => {
    const cases: Array<{ filters: string[]; keep: string[] }> = [
      { filters: [], keep: [D.amd64, D.arm64, D.armv7, D.att1, D.att2] },
      { filters: ['linux/amd64'], keep: [D.amd64, D.att1] },
      { filters: ['linux/arm64'], keep: [D.arm64, D.att2] },
      { filters: ['linux/arm64/v8', 'linux/arm/v7'], keep: [D.arm64, D.armv7, D.att2] },
      { filters: ['linux/arm'], keep: [D.armv7] },
      { filters: ['linux/arm/v6'], keep: [] },
      { filters: ['windows/amd64'], keep: [] },
      // unknown/unknown is never a platform of its own
      { filters: ['unknown/unknown'], keep: [] },
    ];
    for (const c of cases) {
      it(`[${c.filters.join(', ')}] keeps ${c.keep.length} entries, attestations following their image`, () => {
        const kept = selectChildren(INDEX_CHILDREN, c.filters.map(parsePlatformFilter)).map((m) => m.digest);
        assert.deepEqual(kept, c.keep);
      });
    }

    it('drops an attestation that names no image under a filter', () => {
      const orphan = child(D.att1, 'unknown', 'unknown');
      assert.equal(isAttestation(orphan), true);
      assert.deepEqual(selectChildren([child(D.amd64, 'linux', 'amd64'), orphan], [parsePlatformFilter('linux/amd64')]).map((m) => m.digest), [D.amd64]);
    });

    it('lists platforms without attestations', () => {
      assert.deepEqual(indexPlatforms(INDEX_CHILDREN), ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
    });

    it('matches variants only when the filter names one', () => {
      assert.equal(platformMatches([parsePlatformFilter('linux/arm64')], { os: 'linux', architecture: 'arm64', variant: 'v8' }), true);
      assert.equal(platformMatches([parsePlatformFilter('linux/arm/v7')], { os: 'linux', architecture: 'arm', variant: 'v6' }), false);
      assert.equal(platformMatches([parsePlatformFilter('linux/arm/v7')], { os: 'linux', architecture: 'arm' }), false);
    });

    for (const bad of ['linux', 'linux/', '/amd64', 'linux/arm/v7/x', '']) {
      it(`refuses the platform ${JSON.stringify(bad)}`, () => expectCode('USAGE', () => parsePlatformFilter(bad)));
    }
  });

  it('filters an index keeping every other field, and the result parses back', () => {
    const original = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: INDEX_CHILDREN, annotations: { 'org.example': 'kept' } }, null, 2),
    );
    const filtered = filterIndexBytes(original, new Set([D.arm64, D.att2]));
    const json = JSON.parse(filtered.toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(json.annotations, { 'org.example': 'kept' });
    assert.equal(json.mediaType, OCI_INDEX);
    const content = parseManifest(filtered, OCI_INDEX, 'r/x:1');
    assert.deepEqual(content.kind === 'index' && content.manifests.map((m) => m.digest), [D.arm64, D.att2]);
    assert.notEqual(digestOf(filtered.toString()), digestOf(original.toString()));
  });

  it('reads the platform from an image config', () => {
    assert.deepEqual(configPlatform(Buffer.from(JSON.stringify({ os: 'linux', architecture: 'arm', variant: 'v7', rootfs: {} }))), {
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
    assert.equal(configPlatform(Buffer.from('{"mediaType":"helm"}')), undefined);
    assert.equal(configPlatform(Buffer.from('not json')), undefined);
  });

});
