import assert from 'node:assert/strict';
import { isGcrsyncError } from '../../src/errors.js';
import {
  applyUpdates,
  findRecord,
  inCanonicalOrder,
  isDigestKnown,
  listRecords,
  parseMetadata,
  serializeMetadata,
  checkForWriting,
  type NamespaceMetadata,
  type TagRecord,
} from '../../src/store/schema.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const FILE = 'metadata/gcr.io/google-containers.json';
const header = { source: 'gcr.io/google-containers', target: 'docker.io/gcrxio' };

function record(digest: string, target: string, extra: Partial<TagRecord> = {}): TagRecord {
  return { digest, target, syncedAt: '2026-11-23T12:34:56.000Z', ...extra };
}

/** Plain-object view (the parsed maps have no prototype, which deepEqual would count as a difference). */
function plain(metadata: NamespaceMetadata): unknown {
  return JSON.parse(JSON.stringify(metadata));
}

function corrupt(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(isGcrsyncError(error, 'METADATA_CORRUPT'), `expected METADATA_CORRUPT, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('store schema: serializeMetadata', () => {
  it('sorts keys at every level (as text, "10" before "9"), indents by 2 and ends with a newline', () => {
    const md = applyUpdates(undefined, header, [
      { repository: 'pause', tag: '9', record: record(D1, 'docker.io/gcrxio/pause:9', { platforms: ['linux/arm64', 'linux/amd64'] }) },
      { repository: 'pause', tag: '10', record: record(D2, 'docker.io/gcrxio/pause:10', { targetDigest: D3 }) },
      { repository: 'etcd', tag: 'v3', record: record(D3, 'docker.io/gcrxio/etcd:v3') },
    ]);
    const expected = `{
  "images": {
    "etcd": {
      "v3": {
        "digest": "${D3}",
        "syncedAt": "2026-11-23T12:34:56.000Z",
        "target": "docker.io/gcrxio/etcd:v3"
      }
    },
    "pause": {
      "10": {
        "digest": "${D2}",
        "syncedAt": "2026-11-23T12:34:56.000Z",
        "target": "docker.io/gcrxio/pause:10",
        "targetDigest": "${D3}"
      },
      "9": {
        "digest": "${D1}",
        "platforms": [
          "linux/amd64",
          "linux/arm64"
        ],
        "syncedAt": "2026-11-23T12:34:56.000Z",
        "target": "docker.io/gcrxio/pause:9"
      }
    }
  },
  "source": "gcr.io/google-containers",
  "target": "docker.io/gcrxio"
}
`;
    assert.equal(serializeMetadata(md), expected);
  });

  it('round-trips through parseMetadata to the same text and content', () => {
    const md = applyUpdates(undefined, header, [
      { repository: 'a/b/c', tag: 'v1.0', record: record(D1, 'docker.io/gcrxio/a-b-c:v1.0', { platforms: ['linux/arm/v7'] }) },
      { repository: 'a', tag: 'latest', record: record(D2, 'docker.io/gcrxio/a:latest') },
    ]);
    const text = serializeMetadata(md);
    const parsed = parseMetadata(text, FILE);
    assert.deepEqual(plain(parsed), plain(md));
    assert.equal(serializeMetadata(parsed), text);
  });

  it('writes the same text whatever order the entries were added in', () => {
    const updates = [
      { repository: 'x', tag: 'b', record: record(D1, 'docker.io/gcrxio/x:b') },
      { repository: 'x', tag: 'a', record: record(D2, 'docker.io/gcrxio/x:a') },
      { repository: 'w', tag: 'a', record: record(D3, 'docker.io/gcrxio/w:a') },
    ];
    assert.equal(serializeMetadata(applyUpdates(undefined, header, updates)), serializeMetadata(applyUpdates(undefined, header, [...updates].reverse())));
  });

  it('inCanonicalOrder gives the maps in the order the written file reads back in (the index pages are rendered from either)', () => {
    const updates = ['x/b', 'x/10', 'x/9', 'x/a', 'w/latest', 'w/2', 'a-b/1', 'a/1'].map((entry) => {
      const [repository, tag] = entry.split('/') as [string, string];
      return { repository, tag, record: record(D1, `docker.io/gcrxio/${repository}:${tag}`, { platforms: ['linux/arm64', 'linux/amd64'] }) };
    });
    const applied = applyUpdates(undefined, header, updates);
    const readBack = parseMetadata(serializeMetadata(applied), FILE);
    const order = (metadata: NamespaceMetadata) => Object.keys(metadata.images).map((repository) => [repository, Object.keys(metadata.images[repository]!)]);
    assert.notDeepEqual(order(applied), order(readBack), 'the entries were added out of order');
    assert.deepEqual(order(inCanonicalOrder(applied)), order(readBack));
    assert.deepEqual(plain(inCanonicalOrder(applied)), plain(readBack));
  });

  it('leaves targetDigest out when it equals the digest', () => {
    const md = applyUpdates(undefined, header, [{ repository: 'x', tag: 'v1', record: record(D1, 'docker.io/gcrxio/x:v1', { targetDigest: D1 }) }]);
    assert.doesNotMatch(serializeMetadata(md), /targetDigest/);
  });

  it('checks what applyUpdates made without copying it, and copies (or refuses) anything else', () => {
    const md = applyUpdates(undefined, header, [{ repository: 'x', tag: 'v1', record: record(D1, 'docker.io/gcrxio/x:v1', { platforms: ['linux/amd64'] }) }]);
    assert.equal(checkForWriting(md), md);
    const plainMaps = { ...md, images: { x: { v1: md.images['x']!['v1']! } } };
    const copied = checkForWriting(plainMaps);
    assert.notEqual(copied, plainMaps);
    assert.equal(Object.getPrototypeOf(copied.images), null);
    assert.equal(serializeMetadata(copied), serializeMetadata(md));
    const unsorted = { ...md, images: Object.assign(Object.create(null), { x: Object.assign(Object.create(null), { v1: { ...md.images['x']!['v1']!, platforms: ['linux/arm64', 'linux/amd64'] } }) }) };
    assert.deepEqual(checkForWriting(unsorted).images['x']!['v1']!.platforms, ['linux/amd64', 'linux/arm64'], 'a record not in canonical form goes through the schema');
  });

  it('refuses to write a record it could not read back', () => {
    const md = applyUpdates(undefined, header, []);
    md.images['x'] = Object.assign(Object.create(null), { v1: { digest: 'md5:nope', target: '', syncedAt: '' } });
    assert.throws(() => serializeMetadata(md), (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE') && /\$\.images\.x\.v1\.digest/.test(e.message));
  });
});

describe('store schema: parseMetadata', () => {
  it('migrates the old gcrsync list of "name:tag" with unknown digests', () => {
    const md = parseMetadata('["pause:3.1","etcd:3.2.24","pause:3.2"]', FILE);
    assert.equal(md.source, '');
    assert.equal(md.target, '');
    assert.deepEqual(Object.keys(md.images).sort(), ['etcd', 'pause']);
    const pause = findRecord(md, 'pause', '3.1');
    assert.deepEqual(pause, { digest: '', target: '', syncedAt: '' });
    assert.equal(isDigestKnown(pause!), false);
    assert.equal(isDigestKnown(record(D1, 'docker.io/x/y:1')), true);
    // the next write is in the new format, with the header filled in and the old entries kept
    const next = applyUpdates(md, header, [{ repository: 'pause', tag: '3.2', record: record(D1, 'docker.io/gcrxio/pause:3.2') }]);
    const text = serializeMetadata(next);
    assert.match(text, /^\{\n {2}"images": \{/);
    const reread = parseMetadata(text, FILE);
    assert.equal(reread.source, header.source);
    assert.equal(findRecord(reread, 'etcd', '3.2.24')?.digest, '');
    assert.equal(findRecord(reread, 'pause', '3.2')?.digest, D1);
  });

  it('refuses a malformed entry of the old list, naming its index', () => {
    assert.throws(() => parseMetadata('["pause:3.1", "no-tag"]', FILE), corrupt(/\$\[1\]/));
    assert.throws(() => parseMetadata('["../x:1"]', FILE), corrupt(/\$\[0\]/));
    assert.throws(() => parseMetadata('[42]', FILE), corrupt(/\$\[0\]/));
  });

  it('accepts a byte order mark', () => {
    assert.equal(parseMetadata('\uFEFF[]', FILE).source, '');
  });

  const syntax: Array<{ name: string; text: string; at: string }> = [
    { name: 'missing comma', text: '{\n  "source": "gcr.io/x",\n  "target": "docker.io/y"\n  "images": {}\n}\n', at: '4:3' },
    { name: 'unexpected token (V8 gives no position)', text: '{\n  "source": }', at: '2:13' },
    { name: 'trailing comma', text: '{"images": {},}', at: '1:15' },
    { name: 'empty file', text: '', at: '1:1' },
    { name: 'truncated', text: '{\n  "images": {\n', at: '3:1' },
    { name: 'unterminated string', text: '{\n\n  "source": "gcr.io', at: '3:13' },
    { name: 'bad literal', text: '[\n  tru\n]', at: '2:3' },
    { name: 'text after the value', text: '{}\nx', at: '2:1' },
    { name: 'raw newline in a string', text: '{"a": "x\ny"}', at: '1:9' },
  ];
  for (const c of syntax) {
    it(`names the file and line:column of a JSON syntax error: ${c.name}`, () => {
      assert.throws(() => parseMetadata(c.text, FILE), corrupt(new RegExp(`^${FILE.replaceAll('.', '\\.')}:${c.at}: invalid JSON`)));
    });
  }

  it('survives hostile nesting without overflowing the stack', () => {
    const deep = '['.repeat(200_000);
    assert.throws(() => parseMetadata(deep, FILE), corrupt(/:1:200001: invalid JSON/));
  });

  const shapes: Array<{ name: string; value: unknown; path: RegExp }> = [
    { name: 'a string at the top', value: 'x', path: /: \$ must be an object/ },
    { name: 'images as a list', value: { ...header, images: [] }, path: /\$\.images must be an object/ },
    { name: 'source as a number', value: { source: 1, target: header.target, images: {} }, path: /\$\.source must be a string/ },
    { name: 'missing target', value: { source: header.source, images: {} }, path: /\$\.target must be a string/ },
    { name: 'an unknown top-level field', value: { ...header, images: {}, extra: 1 }, path: /\$\.extra is not a known field/ },
    { name: 'tags as a list', value: { ...header, images: { app: [] } }, path: /\$\.images\.app must be an object of tags/ },
    {
      name: 'a numeric digest',
      value: { ...header, images: { app: { v1: { digest: 5, target: 'docker.io/gcrxio/app:v1', syncedAt: '' } } } },
      path: /\$\.images\.app\.v1\.digest must be a digest/,
    },
    {
      name: 'a target without tag or digest',
      value: { ...header, images: { 'a/b': { '1.0': { digest: D1, target: 'docker.io/gcrxio/app', syncedAt: '' } } } },
      path: /\$\.images\["a\/b"\]\["1\.0"\]\.target/,
    },
    {
      name: 'a time that is not ISO 8601',
      value: { ...header, images: { app: { v1: { digest: D1, target: 'docker.io/gcrxio/app:v1', syncedAt: 'yesterday' } } } },
      path: /\$\.images\.app\.v1\.syncedAt/,
    },
    {
      name: 'a bad platform',
      value: { ...header, images: { app: { v1: { digest: D1, target: 'docker.io/gcrxio/app:v1', syncedAt: '', platforms: ['linux'] } } } },
      path: /\$\.images\.app\.v1\.platforms\[0\]/,
    },
    {
      name: 'an unknown record field',
      value: { ...header, images: { app: { v1: { digest: D1, target: 'docker.io/gcrxio/app:v1', syncedAt: '', size: 1 } } } },
      path: /\$\.images\.app\.v1\.size is not a known field/,
    },
  ];
  for (const c of shapes) {
    it(`refuses ${c.name}, naming the JSON path`, () => {
      assert.throws(() => parseMetadata(JSON.stringify(c.value), FILE), corrupt(new RegExp(`^${FILE.replaceAll('.', '\\.')}: `)));
      assert.throws(() => parseMetadata(JSON.stringify(c.value), FILE), corrupt(c.path));
    });
  }

  const hostileRepositories = ['../etc', 'a/../../b', 'a//b', '/abs', 'UPPER', '', '.', 'a/.', '__proto__', 'a\\b'];
  for (const repository of hostileRepositories) {
    it(`refuses the repository key ${JSON.stringify(repository)}`, () => {
      const text = JSON.stringify({ ...header, images: { [repository]: {} } });
      assert.throws(() => parseMetadata(text, FILE), corrupt(/is not a repository path/));
      assert.throws(
        () => applyUpdates(undefined, header, [{ repository, tag: 'v1', record: record(D1, 'docker.io/x/y:v1') }]),
        (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE'),
      );
    });
  }

  const hostileTags = ['..', '.hidden', '-x', 'a b', 'a/b', 'x'.repeat(129), '', 'tag\n'];
  for (const tag of hostileTags) {
    it(`refuses the tag key ${JSON.stringify(tag.length > 20 ? `${tag.slice(0, 10)}…` : tag)}`, () => {
      const text = JSON.stringify({ ...header, images: { app: { [tag]: record(D1, 'docker.io/x/app:v1') } } });
      assert.throws(() => parseMetadata(text, FILE), corrupt(/is not a valid tag/));
      assert.throws(
        () => applyUpdates(undefined, header, [{ repository: 'app', tag, record: record(D1, 'docker.io/x/y:v1') }]),
        (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE'),
      );
    });
  }

  it('keeps tags named like Object.prototype members as plain data', () => {
    const text = `{"images":{"app":{"__proto__":${JSON.stringify(record(D1, 'docker.io/x/app:__proto__'))}}},"source":"","target":""}`;
    const md = parseMetadata(text, FILE);
    assert.equal(findRecord(md, 'app', '__proto__')?.digest, D1);
    assert.equal(findRecord(md, 'app', 'constructor'), undefined);
    assert.equal(findRecord(md, 'constructor', 'v1'), undefined);
    assert.equal(serializeMetadata(md), serializeMetadata(parseMetadata(serializeMetadata(md), FILE)));
    assert.match(serializeMetadata(md), /"__proto__": \{/);
  });
});

describe('store schema: applyUpdates', () => {
  const theirs = applyUpdates(undefined, header, [
    { repository: 'a', tag: 'v1', record: record(D1, 'docker.io/gcrxio/a:v1') },
    { repository: 'b', tag: 'v1', record: record(D1, 'docker.io/gcrxio/b:v1') },
  ]);

  it('merges by content: their entries plus ours, ours replacing the same repository and tag', () => {
    const before = serializeMetadata(theirs);
    const merged = applyUpdates(theirs, header, [
      { repository: 'a', tag: 'v1', record: record(D2, 'docker.io/gcrxio/a:v1') },
      { repository: 'c', tag: 'v1', record: record(D3, 'docker.io/gcrxio/c:v1') },
      { repository: 'a', tag: 'v2', record: record(D3, 'docker.io/gcrxio/a:v2') },
    ]);
    assert.deepEqual(
      listRecords(merged).map((r) => `${r.repository}:${r.tag}=${r.record.digest.slice(-1)}`),
      ['a:v1=2', 'a:v2=3', 'b:v1=1', 'c:v1=3'],
    );
    assert.equal(serializeMetadata(theirs), before, 'the input is not modified');
  });

  it('sets the header from the run', () => {
    const moved = applyUpdates(theirs, { source: 'gcr.io/google-containers', target: 'quay.io/mirror' }, []);
    assert.equal(moved.target, 'quay.io/mirror');
    assert.equal(listRecords(moved).length, 2);
  });

  it('refuses a header that is not a location', () => {
    assert.throws(() => applyUpdates(undefined, { source: 'gcr.io/../x', target: 'docker.io/y' }, []), (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE'));
  });
});
