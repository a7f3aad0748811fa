import assert from 'node:assert/strict';
import { isGcrsyncError } from '../../src/errors.js';
import { applyRewrite, checkNamingRules, createMirrorNamer, DEFAULT_NAMING, mirrorReference, type NamingRules } from '../../src/ref/naming.js';
import { formatReference, parseLocation, parseReference } from '../../src/ref/reference.js';

/** Names `image` (a full reference with tag) as a job whose source namespace is `namespace` would. */
function mirrorOf(image: string, namespace: string, target: string, rules: NamingRules): string {
  const ref = parseReference(image);
  const source = { registry: ref.registry, namespace };
  const key = namespace === '' ? ref.repository : ref.repository.slice(namespace.length + 1);
  const where = parseLocation(target);
  return formatReference(mirrorReference({ registry: where.registry, path: where.path }, rules, source, key, ref));
}

const scoped = '{registry}/{namespace}/{path}';
const ecr = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ecrRules: NamingRules = {
  template: scoped,
  rewrite: [
    { prefix: 'k8s.gcr.io', replacement: 'gcr/google_containers' },
    { prefix: 'quay.io/', replacement: 'quay/' },
    { prefix: 'docker.io/library', replacement: 'dockerhub' },
    { prefix: 'docker.io', replacement: 'dockerhub' },
  ],
};

describe('naming rules: the mirror layouts of the issue', () => {
  const cases: Array<{ name: string; image: string; namespace: string; target: string; rules: NamingRules; expected: string }> = [
    {
      name: 'flat Docker Hub mirror, namespace dropped',
      image: 'gcr.io/google-containers/pause:3.1',
      namespace: 'google-containers',
      target: 'docker.io/gcrxio',
      rules: DEFAULT_NAMING,
      expected: 'docker.io/gcrxio/pause:3.1',
    },
    {
      name: 'ECR, per-origin prefix (k8s.gcr.io)',
      image: 'k8s.gcr.io/cluster-autoscaler:v1.2.2',
      namespace: '',
      target: ecr,
      rules: ecrRules,
      expected: `${ecr}/gcr/google_containers/cluster-autoscaler:v1.2.2`,
    },
    {
      name: 'ECR, per-origin prefix (quay.io)',
      image: 'quay.io/calico/node:v3.7.4',
      namespace: 'calico',
      target: ecr,
      rules: ecrRules,
      expected: `${ecr}/quay/calico/node:v3.7.4`,
    },
    {
      name: 'ECR, per-origin prefix (Docker Hub official image)',
      image: 'ubuntu:1.17.9',
      namespace: 'library',
      target: ecr,
      rules: ecrRules,
      expected: `${ecr}/dockerhub/ubuntu:1.17.9`,
    },
    {
      name: 'Aliyun public-image-mirror, registry folded into the name',
      image: 'docker.io/nginx:1.17.4',
      namespace: 'library',
      target: 'registry.cn-beijing.aliyuncs.com/public-image-mirror',
      rules: { template: scoped, separator: '_', rewrite: [{ prefix: 'docker.io/library', replacement: 'docker.io' }] },
      expected: 'registry.cn-beijing.aliyuncs.com/public-image-mirror/docker.io_nginx:1.17.4',
    },
    {
      name: 'kubeadm --image-repository, nested path flattened to the last segment',
      image: 'registry.k8s.io/coredns/coredns:v1.11.1',
      namespace: '',
      target: 'registry.example.com/google_containers',
      rules: { template: '{repo}', rewrite: [] },
      expected: 'registry.example.com/google_containers/coredns:v1.11.1',
    },
    {
      name: 'Harbor project scoped by origin',
      image: 'quay.io/prometheus-operator/prometheus-operator:v0.47.0',
      namespace: 'prometheus-operator',
      target: 'harbor.example.com/third',
      rules: { template: scoped, rewrite: [] },
      expected: 'harbor.example.com/third/quay.io/prometheus-operator/prometheus-operator:v0.47.0',
    },
    {
      name: 'private library project, vendor path dropped',
      image: 'docker.elastic.co/elasticsearch/elasticsearch:8.11.0',
      namespace: 'elasticsearch',
      target: 'registry.example.com/library',
      rules: { template: '{repo}', rewrite: [] },
      expected: 'registry.example.com/library/elasticsearch:8.11.0',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.image} → ${c.expected}`, () => {
      assert.equal(mirrorOf(c.image, c.namespace, c.target, c.rules), c.expected);
    });
  }
  it('gives the same kubeadm name whether the namespace is the registry root or coredns', () => {
    const rules = { template: '{repo}', rewrite: [] };
    assert.equal(mirrorOf('registry.k8s.io/coredns/coredns:v1.11.1', 'coredns', 'registry.example.com/google_containers', rules), 'registry.example.com/google_containers/coredns:v1.11.1');
  });
  it('names the mirror by the rules when the namespace is nested (elastic via a rewrite instead of {repo})', () => {
    const rules = { template: scoped, rewrite: [{ prefix: 'docker.elastic.co/elasticsearch', replacement: '' }] };
    assert.equal(mirrorOf('docker.elastic.co/elasticsearch/elasticsearch:8.11.0', 'elasticsearch', 'registry.example.com/library', rules), 'registry.example.com/library/elasticsearch:8.11.0');
  });
});

describe('naming rules: mechanics', () => {
  it('flattens nested paths for a Docker Hub target even without a separator', () => {
    assert.equal(mirrorOf('gcr.io/google-containers/sub/app:v1', 'google-containers', 'docker.io/gcrxio', DEFAULT_NAMING), 'docker.io/gcrxio/sub_app:v1');
    assert.equal(mirrorOf('quay.io/calico/node:v1', 'calico', 'docker.io/mirror', { template: scoped, rewrite: [] }), 'docker.io/mirror/quay.io_calico_node:v1');
    assert.equal(mirrorOf('quay.io/calico/node:v1', 'calico', 'docker.io/mirror', { template: scoped, separator: '--', rewrite: [] }), 'docker.io/mirror/quay.io--calico--node:v1');
  });
  it('keeps the default layout identical to the built-in one (nested under the target path)', () => {
    assert.equal(mirrorOf('gcr.io/ns/sub/app:v1', 'ns', '127.0.0.1:5000/mirror', DEFAULT_NAMING), '127.0.0.1:5000/mirror/sub/app:v1');
  });
  it('writes host:port as host_port in {registry}', () => {
    assert.equal(mirrorOf('127.0.0.1:5000/ns/app:v1', 'ns', 'harbor.example.com/third', { template: scoped, rewrite: [] }), 'harbor.example.com/third/127.0.0.1_5000/ns/app:v1');
  });
  it('renders a tag template after ":"', () => {
    assert.equal(mirrorOf('gcr.io/ns/app:v1', 'ns', 'r.example.com/m', { template: '{path}:{tag}-mirror', rewrite: [] }), 'r.example.com/m/app:v1-mirror');
  });
  it('uses the first matching rule, on whole segments only', () => {
    const rules = [
      { prefix: 'docker.io/library', replacement: 'hub' },
      { prefix: 'docker.io', replacement: 'other' },
    ];
    assert.equal(applyRewrite('docker.io/library/nginx', rules), 'hub/nginx');
    assert.equal(applyRewrite('docker.io/bitnami/redis', rules), 'other/bitnami/redis');
    assert.equal(applyRewrite('docker.io/library2/x', rules), 'other/library2/x');
    assert.equal(applyRewrite('docker.iox/a', rules), 'docker.iox/a');
  });
  const bad: Array<[string, NamingRules, RegExp]> = [
    ['an unknown variable', { template: '{host}/{path}', rewrite: [] }, /unknown variable \{host\}/],
    ['an unmatched brace', { template: '{path', rewrite: [] }, /unmatched brace/],
    ['a separator a name cannot hold', { template: '{path}', separator: '+', rewrite: [] }, /separator "\+"/],
    ['an empty template', { template: '/', rewrite: [] }, /empty repository/],
    ['an empty rewrite prefix', { template: '{path}', rewrite: [{ prefix: '/', replacement: 'x' }] }, /empty prefix/],
  ];
  for (const [name, rules, why] of bad) {
    it(`refuses ${name} as a CONFIG error`, () => {
      assert.throws(() => checkNamingRules(rules), (e: unknown) => isGcrsyncError(e, 'CONFIG') && why.test(e.message));
    });
  }
  it('refuses a rendered name or tag that is not valid, per image (BAD_REFERENCE)', () => {
    const namer = createMirrorNamer({ registry: 'gcr.io', namespace: 'ns' }, { registry: 'r.example.com', path: 'm' }, { template: '{path}:-{tag}', rewrite: [] });
    assert.throws(
      () => namer('app', 'v1', { registry: 'gcr.io', repository: 'ns/app', tag: 'v1' }),
      (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE') && /renders tag "-v1"/.test(e.message),
    );
    const byTag = createMirrorNamer({ registry: 'gcr.io', namespace: 'ns' }, { registry: 'r.example.com', path: 'm' }, { template: '{path}/{tag}', rewrite: [] });
    assert.equal(formatReference(byTag('app', 'v1', { registry: 'gcr.io', repository: 'ns/app', tag: 'v1' })), 'r.example.com/m/app/v1:v1');
    assert.throws(
      () => byTag('app', 'V1', { registry: 'gcr.io', repository: 'ns/app', tag: 'V1' }),
      (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE') && /"m\/app\/V1" is not a valid repository path/.test(e.message),
    );
  });
});
