import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runList, runWhere } from '../../src/cli/browse.js';
import { openMirrorSource } from '../../src/browse/mirror-source.js';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { applyUpdates } from '../../src/store/schema.js';
import { type BareRemote, bareRemote, cloneWithIdentity, git } from '../support/git.js';
import { UNINTERRUPTED } from '../../src/errors.js';

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const syncedAt = '2026-11-23T12:00:00.000Z';

/** Runs a command with its stdout captured. */
async function capture(run: (write: (text: string) => void) => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await run((text) => (out += text));
  return { code, out };
}

describe('browse: list and where against a metadata repo (real git)', function () {
  this.timeout(60_000);
  let remote: BareRemote;

  before(async () => {
    remote = await bareRemote();
    const repo = await openMetadataRepo({ location: remote.url, signal: UNINTERRUPTED });
    try {
      const record = (n: number, target: string) => ({ digest: digest(n), target, syncedAt, platforms: ['linux/amd64'] });
      await repo.commit({
        changes: [
          {
            file: 'metadata/registry.k8s.io/_root.json',
            update: (current) =>
              applyUpdates(current, { source: 'registry.k8s.io', target: 'mirror.example/k8s' }, [
                { repository: 'pause', tag: '3.9', record: record(1, 'mirror.example/k8s/pause:3.9') },
                { repository: 'kube-proxy', tag: 'v1.28.0', record: record(2, 'mirror.example/k8s/kube-proxy:v1.28.0') },
              ]),
          },
          {
            file: 'metadata/docker.io/library.json',
            update: (current) =>
              applyUpdates(current, { source: 'docker.io/library', target: 'mirror.example/hub' }, [
                { repository: 'nginx', tag: 'latest', record: record(3, 'mirror.example/hub/nginx:latest') },
              ]),
          },
        ],
        message: 'seed',
        signal: UNINTERRUPTED,
      });
    } finally {
      await repo.close();
    }
    // a namespace someone broke by hand must not stop lookups in the others
    const clone = await cloneWithIdentity(remote.url);
    await mkdir(join(clone.dir, 'metadata', 'quay.io'), { recursive: true });
    await writeFile(join(clone.dir, 'metadata', 'quay.io', 'broken.json'), '{ nope');
    await git(clone.dir, 'add', '-A');
    await git(clone.dir, 'commit', '-qm', 'broken');
    await git(clone.dir, 'push', '-q', 'origin', 'HEAD:main');
    await clone.cleanup();
  });
  after(async () => remote?.cleanup());

  it('where: prints the mirror reference, with Docker Hub defaults', async () => {
    const result = await capture((write) => runWhere({ metadataRepo: remote.url, images: ['registry.k8s.io/pause:3.9', 'nginx'], quiet: true }, write));
    assert.deepEqual(result, { code: 0, out: 'mirror.example/k8s/pause:3.9\nmirror.example/hub/nginx:latest\n' });
  });

  it('where: exit 1 when one image is not mirrored; the others are still printed', async () => {
    const result = await capture((write) => runWhere({ metadataRepo: remote.url, images: ['registry.k8s.io/pause:3.8', 'nginx:latest'], quiet: true }, write));
    assert.deepEqual(result, { code: 1, out: 'mirror.example/hub/nginx:latest\n' });
  });

  it('where --json: one object per image, mirrored or not', async () => {
    const result = await capture((write) => runWhere({ metadataRepo: remote.url, images: ['registry.k8s.io/kube-proxy:v1.28.0', 'quay.io/x/y:1'], json: true, quiet: true }, write));
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.out), [
      {
        image: 'registry.k8s.io/kube-proxy:v1.28.0',
        mirrored: true,
        source: 'registry.k8s.io/kube-proxy:v1.28.0',
        mirror: 'mirror.example/k8s/kube-proxy:v1.28.0',
        digest: digest(2),
        platforms: ['linux/amd64'],
        syncedAt,
        file: 'metadata/registry.k8s.io/_root.json',
      },
      { image: 'quay.io/x/y:1', mirrored: false, reason: 'no metadata file mirrors it' },
    ]);
  });

  it('where: a malformed reference is a usage error (exit 2), not "not mirrored"', async () => {
    const result = await capture((write) => runWhere({ metadataRepo: remote.url, images: ['Bad/Name'], quiet: true }, write));
    assert.deepEqual(result, { code: 2, out: '' });
  });

  it('list: every match, aligned, sorted by source; exit 1 when nothing matches', async () => {
    const all = await capture((write) => runList({ metadataRepo: remote.url, quiet: true }, write));
    assert.equal(all.code, 0);
    assert.equal(
      all.out,
      [
        'docker.io/library/nginx:latest      mirror.example/hub/nginx:latest',
        'registry.k8s.io/kube-proxy:v1.28.0  mirror.example/k8s/kube-proxy:v1.28.0',
        'registry.k8s.io/pause:3.9           mirror.example/k8s/pause:3.9',
        '',
      ].join('\n'),
    );
    const some = await capture((write) => runList({ metadataRepo: remote.url, query: 'registry.k8s.io/*pa', json: true, quiet: true }, write));
    assert.deepEqual(JSON.parse(some.out).map((m: { mirror: string }) => m.mirror), ['mirror.example/k8s/pause:3.9']);
    const none = await capture((write) => runList({ metadataRepo: remote.url, query: 'coredns', quiet: true }, write));
    assert.deepEqual(none, { code: 1, out: '' });
  });

  it('reads a checkout in place and picks up new commits on reload', async () => {
    const clone = await cloneWithIdentity(remote.url);
    try {
      const source = await openMirrorSource({ cwd: clone.dir, signal: UNINTERRUPTED });
      try {
        assert.equal(source.index.resolve('registry.k8s.io/etcd:3.5.9-0').mirrored, false);
        const writer = await openMetadataRepo({ location: remote.url, signal: UNINTERRUPTED });
        await writer.commit({
          changes: [
            {
              file: 'metadata/registry.k8s.io/_root.json',
              update: (current) =>
                applyUpdates(current, { source: 'registry.k8s.io', target: 'mirror.example/k8s' }, [
                  { repository: 'etcd', tag: '3.5.9-0', record: { digest: digest(4), target: 'mirror.example/k8s/etcd:3.5.9-0', syncedAt } },
                ]),
            },
          ],
          message: 'etcd',
          signal: UNINTERRUPTED,
        });
        await writer.close();
        const index = await source.reload(UNINTERRUPTED);
        const answer = index.resolve('registry.k8s.io/etcd:3.5.9-0');
        assert.ok(answer.mirrored && answer.match.mirror === 'mirror.example/k8s/etcd:3.5.9-0');
      } finally {
        await source.close();
      }
    } finally {
      await clone.cleanup();
    }
  });
});
