import assert from 'node:assert/strict';
import type { Schema1Manifest } from '../../src/registry/schemas.js';
import { configPlatformOf, schema1Layers, schema2Config, schema2Manifest } from '../../src/transports/schema1.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const EMPTY_GZIP = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

/** newest first, as schema1 lists them: a CMD (throwaway), an unmarked empty layer, an ADD, the base */
const manifest: Schema1Manifest = {
  kind: 'schema1',
  mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  blobSums: [d('d'), EMPTY_GZIP, d('b'), d('a')],
  history: [
    JSON.stringify({
      id: 'top',
      parent: 'three',
      throwaway: true,
      Size: 0,
      created: '2016-01-04T00:00:00Z',
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
      config: { Cmd: ['/pause'] },
      container_config: { Cmd: ['/bin/sh', '-c', '#(nop) CMD ["/pause"]'] },
    }),
    JSON.stringify({ id: 'three', parent: 'two', created: '2016-01-03T00:00:00Z', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ENV A=1'] } }),
    JSON.stringify({ id: 'two', parent: 'one', created: '2016-01-02T00:00:00Z', author: 'k8s', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:x in /pause'] } }),
    JSON.stringify({ id: 'one', created: '2016-01-01T00:00:00Z', comment: 'base', container_config: { Cmd: null } }),
  ],
};

describe('schema1 → schema2 conversion', () => {
  it('orders layers oldest first and marks throwaway and empty-gzip layers', () => {
    const layers = schema1Layers(manifest, 'where');
    assert.deepEqual(layers.map((l) => [l.digest, l.empty]), [
      [d('a'), false],
      [d('b'), false],
      [EMPTY_GZIP, true],
      [d('d'), true],
    ]);
  });

  it('builds the config from the newest v1Compatibility: v1 fields dropped, diff ids and a history entry per layer', () => {
    const layers = schema1Layers(manifest, 'where');
    const config = JSON.parse(schema2Config(manifest, layers, [d('1'), d('2')], 'where').toString('utf8'));
    for (const field of ['id', 'parent', 'throwaway', 'Size']) assert.equal(field in config, false, field);
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [d('1'), d('2')] });
    assert.deepEqual(config.config, { Cmd: ['/pause'] });
    assert.deepEqual(config.history, [
      { created: '2016-01-01T00:00:00Z', created_by: '', comment: 'base' },
      { created: '2016-01-02T00:00:00Z', author: 'k8s', created_by: '/bin/sh -c #(nop) ADD file:x in /pause' },
      { created: '2016-01-03T00:00:00Z', created_by: '/bin/sh -c #(nop) ENV A=1', empty_layer: true },
      { created: '2016-01-04T00:00:00Z', created_by: '/bin/sh -c #(nop) CMD ["/pause"]', empty_layer: true },
    ]);
    assert.deepEqual(configPlatformOf(Buffer.from(JSON.stringify(config))), { os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('writes a Docker schema2 manifest naming the config and the kept layers with their sizes', () => {
    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    const { bytes, config: descriptor } = schema2Manifest(config, [{ digest: d('a'), size: 10 }]);
    const body = JSON.parse(bytes.toString('utf8'));
    assert.equal(body.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(body.config, descriptor);
    assert.equal(descriptor.size, config.length);
    assert.deepEqual(body.layers, [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 10, digest: d('a') }]);
  });

  it('refuses a v1Compatibility that is not a JSON object', () => {
    assert.throws(() => schema1Layers({ ...manifest, history: ['[1]', '{}', '{}', '{}'] }, 'where'), /not an object/);
  });
});
