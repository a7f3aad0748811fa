import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { rewriteManifests } from '../../src/kube/rewrite.js';
import { INGRESS_DIGEST, sampleIndex } from '../fixtures/mirrors.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kube/${name}`, import.meta.url), 'utf8');

/** [line, before, after] for every line that differs; the rewrite must not add or drop lines. */
function changedLines(before: string, after: string): Array<[number, string, string]> {
  const a = before.split('\n');
  const b = after.split('\n');
  assert.equal(b.length, a.length, 'same number of lines');
  const out: Array<[number, string, string]> = [];
  a.forEach((line, i) => {
    if (line !== b[i]) out.push([i + 1, line, b[i]!]);
  });
  return out;
}

describe('kube: rewriteManifests on real-world manifests', () => {
  const index = sampleIndex();

  it('kubeadm static pods: both control-plane images, quoting and comments kept', () => {
    const input = fixture('kubeadm-static-pods.yaml');
    const result = rewriteManifests(input, index, 'kubeadm-static-pods.yaml');
    assert.deepEqual(changedLines(input, result.text), [
      [24, '    image: registry.k8s.io/kube-apiserver:v1.28.0', '    image: mirror.example/k8s/kube-apiserver:v1.28.0'],
      [64, '    image: "registry.k8s.io/etcd:3.5.9-0"   # pinned by kubeadm', '    image: "mirror.example/k8s/etcd:3.5.9-0"   # pinned by kubeadm'],
    ]);
    assert.deepEqual(
      result.changes.map((c) => [c.line, c.where]),
      [
        [24, 'Pod/kube-apiserver containers[kube-apiserver]'],
        [64, 'Pod/etcd containers[etcd]'],
      ],
    );
    assert.deepEqual(result.notMirrored, []);
  });

  it('Helm-rendered Deployment: init containers, pinned digests, flow style; data and mirror names left alone', () => {
    const input = fixture('helm-deployment.yaml');
    const result = rewriteManifests(input, index);
    assert.deepEqual(changedLines(input, result.text), [
      [
        53,
        "          image: 'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20231011-8b53cabe0'",
        "          image: 'mirror.example/k8s/ingress-nginx/kube-webhook-certgen:v20231011-8b53cabe0'",
      ],
      [
        57,
        `          image: "registry.k8s.io/ingress-nginx/controller:v1.9.4@${INGRESS_DIGEST}"`,
        `          image: "mirror.example/k8s/ingress-nginx/controller:v1.9.4@${INGRESS_DIGEST}"`,
      ],
      [71, '        - {name: sidecar, image: registry.k8s.io/pause:3.9}', '        - {name: sidecar, image: mirror.example/k8s/pause:3.9}'],
    ]);
    assert.deepEqual(
      result.notMirrored.map((m) => [m.line, m.where, m.image]),
      [[50, 'Deployment/release-name-ingress-nginx-controller initContainers[wait-for-config]', 'busybox:1.36']],
    );
    assert.match(result.notMirrored[0]!.reason, /no metadata file mirrors it/);
    // still three valid documents of the same kinds
    assert.deepEqual(
      parseAllDocuments(result.text).map((d) => (d as { get(k: string): unknown }).get('kind')),
      ['ServiceAccount', 'ConfigMap', 'Deployment'],
    );
  });

  it('CronJob and a List: the job template, an anchor used twice (edited once), Docker Hub short names; custom kinds untouched', () => {
    const input = fixture('cronjob.yaml');
    const result = rewriteManifests(input, index);
    assert.deepEqual(changedLines(input, result.text), [
      [17, '            image: &tools registry.k8s.io/kube-controller-manager:v1.28.0', '            image: &tools mirror.example/k8s/kube-controller-manager:v1.28.0'],
      [38, '          image: nginx', '          image: mirror.example/hub/nginx:latest'],
    ]);
    assert.deepEqual(
      result.changes.map((c) => c.where),
      ['CronJob/registry-gc initContainers[fetch]', 'CronJob/registry-gc containers[gc]', 'Job/one-off containers[main]'],
    );
    assert.deepEqual(
      result.notMirrored.map((m) => [m.where, m.image]),
      [['CronJob/registry-gc containers[report]', 'quay.io/prometheus/busybox:latest']],
    );
  });

  it('Helm values: registry/image/tag/digest maps, repository/tag maps, plain strings; unknown tags reported', () => {
    const input = fixture('values.yaml');
    const result = rewriteManifests(input, index, 'values.yaml');
    assert.deepEqual(changedLines(input, result.text), [
      [5, '    registry: registry.k8s.io', '    registry: mirror.example'],
      [6, '    image: ingress-nginx/controller', '    image: k8s/ingress-nginx/controller'],
      [16, '        registry: registry.k8s.io', '        registry: mirror.example'],
      [17, '        image: ingress-nginx/kube-webhook-certgen', '        image: k8s/ingress-nginx/kube-webhook-certgen'],
      [23, '    repository: registry.k8s.io/etcd', '    repository: mirror.example/k8s/etcd'],
      [27, '  image: registry.k8s.io/pause:3.9', '  image: mirror.example/k8s/pause:3.9'],
    ]);
    assert.deepEqual(
      result.changes.map((c) => [c.where, c.to]),
      [
        ['controller.image', `mirror.example/k8s/ingress-nginx/controller:v1.9.4@${INGRESS_DIGEST}`],
        ['controller.admissionWebhooks.patch.image', 'mirror.example/k8s/ingress-nginx/kube-webhook-certgen:v20231011-8b53cabe0'],
        ['metrics.image', 'mirror.example/k8s/etcd:3.5.9-0'],
        ['pause.image', 'mirror.example/k8s/pause:3.9'],
      ],
    );
    assert.deepEqual(
      result.notMirrored.map((m) => [m.where, m.image]),
      [
        ['sidecars[0].image', 'fluent/fluent-bit:2.1'],
        ['defaultBackend.image', 'registry.k8s.io/defaultbackend-amd64'],
      ],
    );
    assert.match(result.notMirrored[1]!.reason, /no tag/);
  });

  it('is idempotent: a rewritten file rewrites to itself and reports only what was never mirrored', () => {
    for (const name of ['kubeadm-static-pods.yaml', 'helm-deployment.yaml', 'cronjob.yaml', 'values.yaml']) {
      const once = rewriteManifests(fixture(name), index);
      const twice = rewriteManifests(once.text, index);
      assert.equal(twice.text, once.text, name);
      assert.deepEqual(twice.changes, [], name);
      assert.deepEqual(twice.notMirrored.map((m) => m.image), once.notMirrored.map((m) => m.image), name);
    }
  });

  it('keeps CRLF line endings and a block scalar image valid', () => {
    const input = 'apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: registry.k8s.io/pause:3.9\r\n  - name: b\r\n    image: >-\r\n      registry.k8s.io/pause:latest\r\n';
    const result = rewriteManifests(input, index);
    assert.equal(
      result.text,
      'apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: mirror.example/k8s/pause:3.9\r\n  - name: b\r\n    image: "mirror.example/k8s/pause:latest"\n',
    );
  });

  it('refuses YAML that does not parse, naming the input and the position', () => {
    assert.throws(
      () => rewriteManifests('kind: Pod\napiVersion: v1\nspec: [\n', index, 'bad.yaml'),
      (error: Error & { code?: string }) => error.code === 'USAGE' && /^bad\.yaml:\d+:\d+: not valid YAML/.test(error.message),
    );
  });

  it('leaves empty input and comment-only documents alone', () => {
    for (const input of ['', '# nothing\n', '---\n---\n']) assert.deepEqual(rewriteManifests(input, index), { text: input, changes: [], notMirrored: [] });
  });
});
