import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isGcrsyncError } from '../../src/errors.js';
import {
  configPlatform,
  filterIndexBytes,
  indexPlatforms,
  isAttestation,
  isNonDistributableMediaType,
  parseManifest,
  parsePlatformFilter,
  platformMatches,
  selectChildren,
  type Descriptor,
} from '../../src/transports/manifest-content.js';

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

describe('registry transport: manifest content', () => {
  describe('parseManifest', () => {
    it('reads an OCI index with platforms and annotations', () => {
      const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: INDEX_CHILDREN }));
      const content = parseManifest(bytes, `${OCI_INDEX}; charset=utf-8`, 'r/x:1');
      assert.equal(content.kind, 'index');
      assert.equal(content.mediaType, OCI_INDEX);
      assert.deepEqual(content.kind === 'index' && content.manifests, INDEX_CHILDREN);
    });

    it('reads an image manifest served without a mediaType field', () => {
      const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D.amd64, size: 3 };
      const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D.arm64, size: 10 };
      const content = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [layer] })), OCI_MANIFEST, 'r/x:1');
      assert.deepEqual(content, { kind: 'image', mediaType: OCI_MANIFEST, config, layers: [layer] });
    });

    const schema1Cases = [
      { name: 'schemaVersion 1', body: { schemaVersion: 1, fsLayers: [] }, type: 'application/json' },
      { name: 'prettyjws content type', body: { schemaVersion: 2 }, type: 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
    ];
    for (const c of schema1Cases) {
      it(`recognises schema1 by ${c.name}`, () => {
        assert.equal(parseManifest(Buffer.from(JSON.stringify(c.body)), c.type, 'r/x:1').kind, 'schema1');
      });
    }

    const hostileCases: Array<{ name: string; body: string; type?: string; code: string }> = [
      { name: 'not JSON', body: '{nope', code: 'HOSTILE_RESPONSE' },
      { name: 'a JSON array', body: '[]', code: 'HOSTILE_RESPONSE' },
      { name: 'a digest with a path in it', body: JSON.stringify({ manifests: [{ mediaType: OCI_MANIFEST, digest: 'sha256:../../x', size: 1 }] }), code: 'HOSTILE_RESPONSE' },
      { name: 'a negative size', body: JSON.stringify({ config: { mediaType: 'a', digest: D.amd64, size: -1 }, layers: [] }), code: 'HOSTILE_RESPONSE' },
      { name: 'a mediaType that contradicts Content-Type', body: JSON.stringify({ mediaType: OCI_INDEX, manifests: [] }), type: OCI_MANIFEST, code: 'HOSTILE_RESPONSE' },
      { name: 'neither index nor image', body: JSON.stringify({ schemaVersion: 2, blobs: [] }), code: 'UNSUPPORTED' },
    ];
    for (const c of hostileCases) {
      it(`refuses ${c.name} with ${c.code}`, () => {
        expectCode(c.code, () => parseManifest(Buffer.from(c.body), c.type ?? OCI_INDEX, 'r/x:1'));
      });
    }
  });

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

  it('knows foreign and non-distributable layer types', () => {
    assert.equal(isNonDistributableMediaType('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'), true);
    assert.equal(isNonDistributableMediaType('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'), true);
    assert.equal(isNonDistributableMediaType('application/vnd.oci.image.layer.v1.tar+gzip'), false);
  });
});
