import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isGcrsyncError } from '../../src/errors.js';
import { DigestVerifier, digestOf, hashAlgorithmOf } from '../../src/registry/digest.js';
import {
  DOCKER_FOREIGN_LAYER,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1_SIGNED,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  baseMediaType,
  isForeignLayer,
  isIndexMediaType,
  isSchema1,
} from '../../src/registry/media-types.js';
import { isGoogleHost, parseRateLimitValue } from '../../src/registry/client.js';
import { googleTagList, manifestMediaType, parseCatalog, parseGoogleTagList, parseManifest, parseTagList } from '../../src/registry/schemas.js';
import { parseAnswer } from '../../src/registry/answer.js';

const hostile = (e: unknown) => isGcrsyncError(e, 'HOSTILE_RESPONSE') && (e as Error).message.startsWith('where');
const d = (c: string) => `sha256:${c.repeat(64)}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('registry/media-types', () => {
  it('accepts indexes and image manifests, OCI and Docker, and no schema1', () => {
    for (const type of [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST]) assert.ok(MANIFEST_ACCEPT.includes(type));
    assert.ok(!MANIFEST_ACCEPT.includes('v1+prettyjws'));
  });
  it('classifies', () => {
    assert.ok(isIndexMediaType(OCI_INDEX) && isIndexMediaType(DOCKER_MANIFEST_LIST) && !isIndexMediaType(OCI_MANIFEST));
    assert.ok(isSchema1(DOCKER_SCHEMA1_SIGNED) && !isSchema1(DOCKER_MANIFEST));
    assert.ok(isForeignLayer(DOCKER_FOREIGN_LAYER));
    assert.ok(isForeignLayer('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'));
    assert.ok(!isForeignLayer(OCI_LAYER_GZIP));
    assert.equal(baseMediaType('Application/VND.oci.image.index.v1+json; charset=utf-8'), OCI_INDEX);
    assert.equal(baseMediaType(undefined), undefined);
  });
  it('knows Google hosts and Hub rate-limit values', () => {
    for (const host of ['gcr.io', 'eu.gcr.io', 'us-docker.pkg.dev', 'x.google.com', 'registry.k8s.io']) assert.ok(isGoogleHost(host), host);
    for (const host of ['quay.io', 'notgcr.io', '127.0.0.1:5000']) assert.ok(!isGoogleHost(host), host);
    assert.equal(parseRateLimitValue('100;w=21600'), 100);
    assert.equal(parseRateLimitValue(' 76;w=21600'), 76);
    assert.equal(parseRateLimitValue('none'), undefined);
  });
});

describe('registry/schemas', () => {
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('a'), size: 10 };
  const layer = { mediaType: OCI_LAYER_GZIP, digest: d('b'), size: 20 };

  it('parses an OCI image manifest', () => {
    const m = parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], annotations: { x: 'y' } }), OCI_MANIFEST, 'where');
    assert.equal(m.kind, 'manifest');
    assert.ok(m.kind === 'manifest' && m.layers[0]!.digest === d('b') && m.config.size === 10);
  });

  it('reads a plain image manifest by hand to what the schema gives, and anything else through the schema', () => {
    const plain = parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer, { ...layer, digest: d('c') }], annotations: { x: 'y' } }), OCI_MANIFEST, 'where');
    assert.deepEqual(plain, { kind: 'manifest', mediaType: OCI_MANIFEST, config, layers: [layer, { ...layer, digest: d('c') }] });
    // the schema's own readings: nulls dropped, urls and annotations kept, subject and artifactType kept
    const withExtras = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...config, annotations: null },
      layers: [{ ...layer, urls: ['https://example.com/l'], annotations: { a: 'b' } }],
      subject: { ...config, digest: d('f') },
      artifactType: 'application/x-sbom',
    };
    assert.deepEqual(parseManifest(json(withExtras), OCI_MANIFEST, 'where'), {
      kind: 'manifest',
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...layer, urls: ['https://example.com/l'], annotations: { a: 'b' } }],
      subject: { ...config, digest: d('f') },
      artifactType: 'application/x-sbom',
    });
    assert.deepEqual(parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: null, subject: null }), OCI_MANIFEST, 'where'), { kind: 'manifest', mediaType: OCI_MANIFEST, config, layers: [] });
    for (const size of [2 ** 53, 1.5]) {
      assert.throws(() => parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size }, layers: [] }), OCI_MANIFEST, 'where'), hostile);
    }
    assert.throws(() => parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, mediaType: '' }, layers: [] }), OCI_MANIFEST, 'where'), hostile);
    // a key the schema does not know is dropped by it, as before
    const odd = parseManifest(Buffer.from(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"__proto__":{},"mediaType":"x","digest":"${d('a')}","size":1},"layers":[]}`), OCI_MANIFEST, 'where');
    assert.deepEqual(odd, { kind: 'manifest', mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: d('a'), size: 1 }, layers: [] });
  });

  it('parses a Docker manifest list with platforms', () => {
    const body = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ mediaType: DOCKER_MANIFEST, digest: d('c'), size: 5, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }],
    };
    const m = parseManifest(json(body), DOCKER_MANIFEST_LIST, 'where');
    assert.ok(m.kind === 'index' && m.manifests[0]!.platform!.variant === 'v7');
  });

  it('takes the media type from Content-Type when the body has none', () => {
    const m = parseManifest(json({ schemaVersion: 2, manifests: [] }), OCI_INDEX, 'where');
    assert.equal(m.mediaType, OCI_INDEX);
    assert.equal(manifestMediaType(json({ schemaVersion: 2, config, layers: [] }), 'application/json', 'where'), OCI_MANIFEST);
  });

  it('recognises schema1 with its layers and history, and refuses one whose history does not match its layers', () => {
    const body = { schemaVersion: 1, name: 'a', tag: 'b', fsLayers: [{ blobSum: d('e') }], history: [{ v1Compatibility: '{"id":"x"}' }], signatures: [] };
    const m = parseManifest(json(body), DOCKER_SCHEMA1_SIGNED, 'where');
    assert.deepEqual(m, { kind: 'schema1', mediaType: DOCKER_SCHEMA1_SIGNED, blobSums: [d('e')], history: ['{"id":"x"}'] });
    assert.throws(() => parseManifest(json({ ...body, history: [] }), DOCKER_SCHEMA1_SIGNED, 'where'), /1 fsLayers but 0 history/);
  });

  const refusals: Array<[string, Buffer, string | undefined]> = [
    ['not JSON', Buffer.from('<html>'), OCI_MANIFEST],
    ['a JSON array', json([]), OCI_MANIFEST],
    ['mediaType different from Content-Type', json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST],
    ['schemaVersion 3', json({ schemaVersion: 3, mediaType: OCI_MANIFEST, config, layers: [] }), OCI_MANIFEST],
    ['a bad layer digest', json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ ...layer, digest: 'sha256:../../etc' }] }), OCI_MANIFEST],
    ['a negative size', json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size: -1 }, layers: [] }), OCI_MANIFEST],
    ['a string size', json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size: '10' }, layers: [] }), OCI_MANIFEST],
    ['index entries that are not descriptors', json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: ['x'] }), OCI_INDEX],
    ['a platform without architecture', json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...layer, platform: { os: 'linux' } }] }), OCI_INDEX],
    ['an unknown media type', json({ schemaVersion: 2, mediaType: 'application/x-thing', config, layers: [] }), 'application/x-thing'],
    ['unrecognisable shape', json({ hello: 'world' }), 'application/json'],
  ];
  for (const [name, bytes, contentType] of refusals) {
    it(`refuses ${name}`, () => assert.throws(() => parseManifest(bytes, contentType, 'where'), hostile));
  }

  it('tag lists: null tags are empty, anything but strings is refused', () => {
    assert.deepEqual(parseTagList({ name: 'a', tags: null }, 'where'), { name: 'a', tags: [] });
    assert.deepEqual(parseTagList({ name: 'a', tags: ['v1', 'v2'] }, 'where').tags, ['v1', 'v2']);
    assert.throws(() => parseTagList({ name: 'a', tags: [1] }, 'where'), hostile);
    assert.throws(() => parseTagList({ name: 'a', tags: 'v1' }, 'where'), hostile);
    assert.throws(() => parseTagList(null, 'where'), hostile);
  });

  it('catalogs', () => {
    assert.deepEqual(parseCatalog({ repositories: ['a', 'b/c'] }, 'where'), ['a', 'b/c']);
    assert.deepEqual(parseCatalog({ repositories: null }, 'where'), []);
    assert.throws(() => parseCatalog({ repositories: {} }, 'where'), hostile);
  });

  describe('Google listing extension', () => {
    it('parses the registry.k8s.io / Artifact Registry shape', () => {
      const body = {
        child: [],
        manifest: {
          [d('5')]: { mediaType: DOCKER_MANIFEST, tag: ['latest'], timeUploadedMs: '1660697581976', timeCreatedMs: '1445246221620', imageSizeBytes: '164026588' },
        },
        name: 'k8s-artifacts-prod/images/hpa-example',
        tags: ['latest'],
      };
      const list = parseGoogleTagList(body, 'where')!;
      assert.equal(list.name, 'k8s-artifacts-prod/images/hpa-example');
      assert.deepEqual(list.manifest[d('5')]!.tag, ['latest']);
      assert.equal(list.manifest[d('5')]!.imageSizeBytes, '164026588');
    });

    it('parses a parent node and a legacy layerId leaf, defaulting tag to []', () => {
      assert.deepEqual(parseGoogleTagList({ child: ['addon-resizer', 'pause'], manifest: {}, name: 'foo', tags: [] }, 'where'), {
        name: 'foo',
        child: ['addon-resizer', 'pause'],
        tags: [],
        manifest: {},
      });
      const leaf = parseGoogleTagList({ child: [], manifest: { [d('b')]: { layerId: '', timeCreatedMs: '-62135596800000' } }, name: 'foo/x' }, 'where')!;
      assert.deepEqual(leaf.manifest[d('b')], { tag: [], timeCreatedMs: '-62135596800000' });
    });

    it('reads an answer in the shape Google sends exactly as the schema does (built by hand for speed), and anything else through the schema', () => {
      const viaSchema = (body: unknown) => parseAnswer(googleTagList, body, 'where', 'tag list');
      const bodies: unknown[] = [
        { child: ['a', 'b'], manifest: { [d('1')]: { mediaType: DOCKER_MANIFEST, tag: ['v1', 'latest'], timeUploadedMs: '1', timeCreatedMs: '-2', imageSizeBytes: '3', layerId: '' } }, name: 'x', tags: ['v1', 'latest'], extra: 1 },
        { child: null, manifest: { [d('2')]: { tag: null, timeCreatedMs: 12, imageSizeBytes: null, mediaType: null } }, tags: null },
        { manifest: { [d('3')]: {} }, name: null },
        { child: [], manifest: null, name: '' },
        { child: [], manifest: { [d('4')]: { mediaType: '', imageSizeBytes: 1.5 } } },
      ];
      for (const body of bodies) {
        const parsed = parseGoogleTagList(body, 'where');
        assert.deepEqual(parsed, viaSchema(body));
        assert.deepEqual(JSON.stringify(parsed), JSON.stringify(viaSchema(body)), 'the same fields in the same order');
      }
    });

    it('is undefined for a plain distribution answer', () => {
      assert.equal(parseGoogleTagList({ name: 'a', tags: ['v1'] }, 'where'), undefined);
    });

    it('refuses hostile entries', () => {
      assert.throws(() => parseGoogleTagList({ child: 'x', manifest: {} }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { '../../x': { tag: [] } } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { [d('c')]: { tag: 'latest' } } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { [d('c')]: { tag: [], imageSizeBytes: 'big' } } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { [d('c')]: { tag: [], timeCreatedMs: '1.5' } } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { [d('c')]: { tag: [], mediaType: 7 } } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { [d('c')]: null } }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ child: [], manifest: [] }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ child: [], tags: [1] }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ child: [], name: 3 }, 'where'), hostile);
      assert.throws(() => parseGoogleTagList({ manifest: { ['SHA256:' + 'a'.repeat(64)]: { tag: [] } } }, 'where'), hostile);
    });
  });
});

describe('registry/digest', () => {
  const content = Buffer.from('hello blob content '.repeat(1000));
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const collect = async (source: Readable, verifier: DigestVerifier) => {
    const out: Buffer[] = [];
    await pipeline(source, verifier, async (stream: AsyncIterable<Buffer>) => {
      for await (const chunk of stream) out.push(chunk);
    });
    return Buffer.concat(out);
  };
  const pieces = (buffer: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(buffer.length / size) }, (_, i) => buffer.subarray(i * size, (i + 1) * size)));

  it('passes right content through unchanged', async () => {
    assert.deepEqual(await collect(pieces(content, 777), new DigestVerifier(digest, content.length, 'blob')), content);
  });

  it('fails wrong content with DIGEST_MISMATCH, holding back the last chunk', async () => {
    const wrong = Buffer.from(content);
    wrong[wrong.length - 1] ^= 1;
    const out: Buffer[] = [];
    const verifier = new DigestVerifier(digest, content.length, 'blob');
    await assert.rejects(
      pipeline(pieces(wrong, 1000), verifier, async (stream: AsyncIterable<Buffer>) => {
        for await (const chunk of stream) out.push(chunk);
      }),
      (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'),
    );
    assert.ok(Buffer.concat(out).length < content.length, 'the consumer never saw all the bytes');
  });

  it('fails on too many or too few bytes', async () => {
    await assert.rejects(collect(pieces(Buffer.concat([content, Buffer.from('x')]), 1000), new DigestVerifier(digest, content.length, 'b')), (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
    await assert.rejects(collect(pieces(content.subarray(1), 1000), new DigestVerifier(digest, content.length, 'b')), (e) => isGcrsyncError(e, 'DIGEST_MISMATCH'));
  });

  it('knows sha256 and sha512 only', () => {
    assert.equal(hashAlgorithmOf(digest), 'sha256');
    assert.equal(hashAlgorithmOf('sha512:' + 'a'.repeat(128)), 'sha512');
    assert.throws(() => hashAlgorithmOf('md5:abc'), (e) => isGcrsyncError(e, 'UNSUPPORTED'));
    assert.equal(digestOf(content), digest);
  });
});
