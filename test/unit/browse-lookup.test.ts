import assert from 'node:assert/strict';
import { planPull, pullCommands } from '../../src/browse/pull.js';
import { digest, sampleIndex, syncedAt } from '../fixtures/mirrors.js';

describe('browse: MirrorIndex.resolve', () => {
  const index = sampleIndex();
  const mirrored: Array<[string, string, string]> = [
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9', 'mirror.example/k8s/pause:3.9'],
    ['registry.k8s.io/pause', 'registry.k8s.io/pause:latest', 'mirror.example/k8s/pause:latest'],
    ['nginx', 'docker.io/library/nginx:latest', 'mirror.example/hub/nginx:latest'],
    ['docker.io/library/nginx:latest', 'docker.io/library/nginx:latest', 'mirror.example/hub/nginx:latest'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest', 'mirror.example/hub/nginx:latest'],
    ['gcr.io/google-containers/sub/app:v1', 'gcr.io/google-containers/sub/app:v1', 'docker.io/gcrxio/sub_app:v1'],
    // the same repository through the deeper namespace file
    ['gcr.io/google-containers/sub/app:v2', 'gcr.io/google-containers/sub/app:v2', 'mirror.example/sub/app:v2'],
    ['REGISTRY.K8S.IO/pause:3.9', 'REGISTRY.K8S.IO/pause:3.9', 'mirror.example/k8s/pause:3.9'],
    [`registry.k8s.io/pause:3.9@${digest('pause:3.9')}`, `registry.k8s.io/pause:3.9@${digest('pause:3.9')}`, `mirror.example/k8s/pause:3.9@${digest('pause:3.9')}`],
    [`registry.k8s.io/pause@${digest('pause:3.9')}`, `registry.k8s.io/pause@${digest('pause:3.9')}`, `mirror.example/k8s/pause@${digest('pause:3.9')}`],
    // a rewritten manifest: only a pin of the digest the mirror holds resolves, to that same digest
    [`registry.k8s.io/etcd@${digest('rebuilt etcd')}`, `registry.k8s.io/etcd@${digest('rebuilt etcd')}`, `mirror.example/k8s/etcd@${digest('rebuilt etcd')}`],
  ];
  for (const [image, normalized, mirror] of mirrored) {
    it(`${image} → ${mirror}`, () => {
      const answer = index.resolve(image);
      assert.ok(answer.mirrored, JSON.stringify(answer));
      assert.equal(answer.image, normalized);
      assert.equal(answer.match.mirror, mirror);
    });
  }

  const missing: Array<[string, RegExp]> = [
    ['registry.k8s.io/pause:3.8', /repository is mirrored, but not that tag/],
    ['registry.k8s.io/coredns:v1.10.1', /no metadata file mirrors it/],
    ['quay.io/coreos/etcd:v3', /no metadata file mirrors it/],
    ['nginx:1.25', /not that tag/],
    [`registry.k8s.io/pause:3.9@${digest('something else')}`, /not that tag and digest/],
    [`registry.k8s.io/pause@${digest('something else')}`, /not that digest/],
    // a pin of the source digest never becomes a pin of the rebuilt mirror (other content)
    [`registry.k8s.io/etcd@${digest('etcd:3.5.9-0')}`, /not that digest \(the mirror holds a rebuilt copy, sha256:[0-9a-f]{64}, which is other content\)/],
    [`registry.k8s.io/etcd:3.5.9-0@${digest('etcd:3.5.9-0')}`, /not that tag and digest \(the mirror holds a rebuilt copy/],
    ['quay.io/old/legacy:v1', /old format/],
    ['registry.k8s.io/busybox', /not mirrorable: schema1 \(metadata\/registry\.k8s\.io\/_root\.json\)/],
    ['Not A Reference', /invalid reference/],
  ];
  for (const [image, reason] of missing) {
    it(`${image} is not mirrored`, () => {
      const answer = index.resolve(image);
      assert.equal(answer.mirrored, false);
      if (!answer.mirrored) assert.match(answer.reason, reason);
    });
  }

  it('reports the record details with the match', () => {
    const answer = index.resolve('registry.k8s.io/etcd:3.5.9-0');
    assert.ok(answer.mirrored);
    assert.deepEqual(answer.match, {
      source: 'registry.k8s.io/etcd:3.5.9-0',
      mirror: 'mirror.example/k8s/etcd:3.5.9-0',
      digest: digest('etcd:3.5.9-0'),
      targetDigest: digest('rebuilt etcd'),
      platforms: ['linux/amd64'],
      syncedAt,
      file: 'metadata/registry.k8s.io/_root.json',
    });
  });
});

describe('browse: MirrorIndex.isMirror and search', () => {
  const index = sampleIndex();

  it('knows the mirror references it records, by tag or by the digest at the mirror', () => {
    assert.equal(index.isMirror('mirror.example/k8s/pause:3.9'), true);
    assert.equal(index.isMirror('mirror.example/hub/nginx'), true, 'no tag means latest');
    assert.equal(index.isMirror(`mirror.example/k8s/etcd@${digest('rebuilt etcd')}`), true);
    assert.equal(index.isMirror(`mirror.example/k8s/etcd@${digest('etcd:3.5.9-0')}`), false, 'the source digest is not at the mirror');
    assert.equal(index.isMirror('registry.k8s.io/pause:3.9'), false);
    assert.equal(index.isMirror('mirror.example/k8s/pause:3.8'), false);
    assert.equal(index.isMirror('::bad'), false);
  });

  it('lists everything sorted by source, old-format records without a mirror left out', () => {
    const all = index.search();
    assert.equal(all.length, 11);
    assert.deepEqual(all.map((m) => m.source), [...all.map((m) => m.source)].sort());
    assert.ok(!all.some((m) => m.source.includes('legacy')));
  });

  const queries: Array<[string, string[]]> = [
    ['pause', ['gcr.io/google-containers/pause:3.1', 'registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:latest']],
    ['PAUSE:3', ['gcr.io/google-containers/pause:3.1', 'registry.k8s.io/pause:3.9']],
    ['registry.k8s.io/kube-*', ['registry.k8s.io/kube-apiserver:v1.28.0', 'registry.k8s.io/kube-controller-manager:v1.28.0']],
    ['*sub_app*', ['gcr.io/google-containers/sub/app:v1']],
    ['mirror.example/hub', ['docker.io/library/nginx:latest']],
    ['nothing-like-this', []],
  ];
  for (const [query, sources] of queries) {
    it(`search ${JSON.stringify(query)}`, () => {
      assert.deepEqual(index.search(query).map((m) => m.source), sources);
    });
  }
});

describe('browse: planPull and pullCommands', () => {
  it('pulls the mirror by tag and names it as the manifest does', () => {
    const plan = planPull('registry.k8s.io/pause:3.9', 'mirror.example/k8s/pause:3.9');
    assert.deepEqual(pullCommands(plan, 'docker'), [
      'docker pull mirror.example/k8s/pause:3.9',
      'docker tag mirror.example/k8s/pause:3.9 registry.k8s.io/pause:3.9',
      'docker rmi mirror.example/k8s/pause:3.9',
    ]);
    assert.deepEqual(pullCommands(plan, 'ctr'), [
      'ctr -n k8s.io images pull mirror.example/k8s/pause:3.9',
      'ctr -n k8s.io images tag --force mirror.example/k8s/pause:3.9 registry.k8s.io/pause:3.9',
      'ctr -n k8s.io images rm mirror.example/k8s/pause:3.9',
    ]);
    assert.deepEqual(pullCommands(plan, 'crictl'), [
      'crictl pull mirror.example/k8s/pause:3.9',
      'ctr -n k8s.io images tag --force mirror.example/k8s/pause:3.9 registry.k8s.io/pause:3.9',
      'ctr -n k8s.io images rm mirror.example/k8s/pause:3.9',
    ]);
  });

  it('spells Docker Hub names out in full (ctr does not normalize) and pulls pinned images by digest', () => {
    assert.equal(pullCommands(planPull('nginx', 'mirror.example/hub/nginx:latest'), 'ctr')[1], 'ctr -n k8s.io images tag --force mirror.example/hub/nginx:latest docker.io/library/nginx:latest');
    const pinned = planPull(`registry.k8s.io/pause:3.9@${digest('x')}`, `mirror.example/k8s/pause:3.9@${digest('x')}`);
    assert.deepEqual(pullCommands(pinned, 'docker').slice(0, 2), [
      `docker pull mirror.example/k8s/pause@${digest('x')}`,
      `docker tag mirror.example/k8s/pause@${digest('x')} registry.k8s.io/pause:3.9`,
    ]);
  });

  it('refuses a digest without a tag: it cannot become a local name', () => {
    assert.throws(() => planPull(`registry.k8s.io/pause@${digest('x')}`, `mirror.example/k8s/pause@${digest('x')}`), /name a tag too/);
  });
});
