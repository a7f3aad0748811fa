import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { formatReference } from '../../src/ref/reference.js';
import { groupByNamespace, loadImageList, namespaceOf, parseImageList } from '../../src/sources/index.js';
import { tempDir } from '../support/temp.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const parsed = (text: string) => parseImageList(text, 'images.txt').map(formatReference);

describe('parseImageList', () => {
  const cases: Array<{ name: string; text: string; expected: string[] }> = [
    {
      name: 'the issue example, with Docker Hub defaults',
      text: 'nginx:1.25\nquay.io/calico/node:v3.27.0\nregistry.k8s.io/pause:3.9\n',
      expected: ['docker.io/library/nginx:1.25', 'quay.io/calico/node:v3.27.0', 'registry.k8s.io/pause:3.9'],
    },
    {
      name: 'comments, inline comments, blank lines, CRLF and indentation',
      text: '# header\r\n\r\n  nginx:1.25   # web\r\n\t# indented comment\r\nbitnami/redis\r\n',
      expected: ['docker.io/library/nginx:1.25', 'docker.io/bitnami/redis'],
    },
    { name: 'a bare repository keeps no tag', text: 'ghcr.io/owner/app', expected: ['ghcr.io/owner/app'] },
    { name: 'a pinned tag keeps its digest', text: `nginx:1.25@${D1}`, expected: [`docker.io/library/nginx:1.25@${D1}`] },
    { name: 'host:port registries', text: 'localhost:5000/team/app:v1', expected: ['localhost:5000/team/app:v1'] },
    { name: 'an empty file', text: '\n# nothing\n', expected: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parsed(c.text), c.expected));

  it('reports every bad line at once, with file and line number', () => {
    const text = ['nginx:1.25', 'Nginx:1.25', '', 'nginx:bad tag', `nginx@${D1}`, 'quay.io/calico/node:v3.27.0', 'nginx:-x'].join('\n');
    assert.throws(
      () => parseImageList(text, 'required-images.txt'),
      (error: unknown) =>
        isGcrsyncError(error, 'CONFIG') &&
        /has 4 bad line\(s\)/.test(error.message) &&
        /required-images\.txt:2: .*lowercase/.test(error.message) &&
        /required-images\.txt:4: /.test(error.message) &&
        /required-images\.txt:5: .*digest without a tag/.test(error.message) &&
        /required-images\.txt:7: /.test(error.message) &&
        !/required-images\.txt:(1|3|6):/.test(error.message),
    );
  });

  it('caps the lines spelled out in one error', () => {
    const text = Array.from({ length: 25 }, () => 'BAD').join('\n');
    assert.throws(
      () => parseImageList(text, 'f'),
      (error: unknown) => isGcrsyncError(error, 'CONFIG') && /has 25 bad/.test(error.message) && /f:20: /.test(error.message) && !/f:21: /.test(error.message) && /and 5 more/.test(error.message),
    );
  });
});

describe('loadImageList', () => {
  it('reads and parses a file', async () => {
    const dir = await tempDir('image-list-unit');
    const file = join(dir, 'images.txt');
    await writeFile(file, 'nginx:1.25\n');
    assert.deepEqual((await loadImageList(file, UNINTERRUPTED)).map(formatReference), ['docker.io/library/nginx:1.25']);
  });

  it('turns a missing file into CONFIG naming it', async () => {
    await assert.rejects(loadImageList('/nonexistent/images.txt', UNINTERRUPTED), (error: unknown) =>
      isGcrsyncError(error, 'CONFIG') && error.message.includes('/nonexistent/images.txt') && error.message.includes('ENOENT'),
    );
  });
});

describe('namespaceOf', () => {
  const cases: Array<[string, string]> = [
    ['library/nginx', 'library'],
    ['calico/node', 'calico'],
    ['pause', ''],
    ['google-containers/sub/app', 'google-containers/sub'],
  ];
  for (const [repository, expected] of cases) it(`${repository} → ${JSON.stringify(expected)}`, () => assert.equal(namespaceOf({ repository }), expected));
});

describe('groupByNamespace', () => {
  const group = (text: string) => groupByNamespace(parseImageList(text, 'f'));

  it('splits the issue example into one source per namespace, sorted', () => {
    assert.deepEqual(group('registry.k8s.io/pause:3.9\nquay.io/calico/node:v3.27.0\nnginx:1.25\n'), [
      { kind: 'images', registry: 'docker.io', namespace: 'library', images: [{ repository: 'nginx', tags: [{ tag: '1.25' }] }] },
      { kind: 'images', registry: 'quay.io', namespace: 'calico', images: [{ repository: 'node', tags: [{ tag: 'v3.27.0' }] }] },
      { kind: 'images', registry: 'registry.k8s.io', namespace: '', images: [{ repository: 'pause', tags: [{ tag: '3.9' }] }] },
    ]);
  });

  it('merges duplicates and spellings of one image, and sorts repositories and tags', () => {
    assert.deepEqual(group('nginx:1.27\ndocker.io/library/nginx:1.25\nindex.docker.io/library/nginx:1.27\nredis:7\nalpine:3.19'), [
      {
        kind: 'images',
        registry: 'docker.io',
        namespace: 'library',
        images: [
          { repository: 'alpine', tags: [{ tag: '3.19' }] },
          { repository: 'nginx', tags: [{ tag: '1.25' }, { tag: '1.27' }] },
          { repository: 'redis', tags: [{ tag: '7' }] },
        ],
      },
    ]);
  });

  it('a bare repository means every tag, whatever tags other lines name', () => {
    assert.deepEqual(group('nginx:1.25\nnginx\nnginx:1.27')[0]!.images, [{ repository: 'nginx' }]);
  });

  it('keeps a pin when the same tag is also named unpinned', () => {
    assert.deepEqual(group(`nginx:1.25\nnginx:1.25@${D1}\nnginx:1.25`)[0]!.images, [{ repository: 'nginx', tags: [{ tag: '1.25', digest: D1 }] }]);
  });

  it('refuses one tag pinned to two digests', () => {
    assert.throws(() => group(`nginx:1.25@${D1}\nnginx:1.25@${D2}`), (error: unknown) => isGcrsyncError(error, 'CONFIG') && /two digests/.test(error.message));
  });

  it('refuses a repository named bare and pinned', () => {
    assert.throws(() => group(`nginx\nnginx:1.25@${D1}`), (error: unknown) => isGcrsyncError(error, 'CONFIG') && /bare \(every tag\) and pins/.test(error.message));
  });

  it('keeps nested namespaces apart from their parents', () => {
    assert.deepEqual(
      group('gcr.io/google-containers/pause:3.1\ngcr.io/google-containers/sub/app:v1').map((g) => [g.namespace, g.images.map((i) => i.repository)]),
      [
        ['google-containers', ['pause']],
        ['google-containers/sub', ['app']],
      ],
    );
  });

  it('returns nothing for an empty list', () => assert.deepEqual(groupByNamespace([]), []));
});
