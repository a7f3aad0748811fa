import assert from 'node:assert/strict';
import { resolveJobs, COMMAND_LINE_JOB, DEFAULT_HOOK_TIMEOUT_MS } from '../../src/config/settings.js';
import { parseConfigFile } from '../../src/config/file.js';
import { isGcrsyncError } from '../../src/errors.js';

const file = parseConfigFile(
  `defaults:
  target: file.example.com/mirror
  transport: docker
  concurrency: 3
  platforms: [linux/amd64]
  filters: { exclude: ['-rc'], newest: 5 }
  hooks:
    afterPush: { run: [echo, pushed], timeout: 5s }
jobs:
  - name: gcr
    source: gcr.io/google-containers
    concurrency: 7
    filters: { newest: 2 }
  - name: quay
    sources:
      - namespace: quay.io/calico
      - images: [nginx:1.25, "registry.k8s.io/pause:3.9"]
    target: job.example.com/quay
    hooks:
      beforeRepository: create-repo
`,
  'gcrsync.yaml',
);

function failure(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(isGcrsyncError(error), String(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('expected an error');
}

describe('resolveJobs: precedence flags > GCRSYNC_* environment > job > defaults', () => {
  it('runs every job of the file, each job over the defaults, sections merged key by key', () => {
    const options = resolveJobs(file, {}, {});
    assert.equal(options.configFile, 'gcrsync.yaml');
    const [gcr, quay] = options.jobs;
    assert.deepEqual(gcr!.target, { registry: 'file.example.com', path: 'mirror' });
    assert.equal(gcr!.transport, 'docker');
    assert.equal(gcr!.concurrency, 7);
    assert.equal(gcr!.queryLimit, 20);
    assert.deepEqual(gcr!.platforms, ['linux/amd64']);
    assert.deepEqual(gcr!.filters, { exclude: ['-rc'], newest: 2 });
    assert.deepEqual(gcr!.hooks, { afterPush: { run: ['echo', 'pushed'], timeoutMs: 5000 } });
    assert.deepEqual(gcr!.sources, [{ kind: 'spec', spec: { kind: 'namespace', registry: 'gcr.io', namespace: 'google-containers' } }]);
    assert.deepEqual(quay!.target, { registry: 'job.example.com', path: 'quay' });
    assert.equal(quay!.concurrency, 3);
    assert.deepEqual(quay!.hooks.beforeRepository, { run: 'create-repo', timeoutMs: DEFAULT_HOOK_TIMEOUT_MS });
    assert.deepEqual(quay!.sources[1], {
      kind: 'images',
      references: [
        { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' },
        { registry: 'registry.k8s.io', repository: 'pause', tag: '3.9' },
      ],
    });
  });

  it('lets the environment override the file, and flags override the environment', () => {
    const env = { GCRSYNC_TARGET: 'env.example.com/e', GCRSYNC_TRANSPORT: 'registry', GCRSYNC_CONCURRENCY: '9', GCRSYNC_PLATFORMS: 'linux/arm64,linux/amd64' };
    const fromEnv = resolveJobs(file, {}, env).jobs;
    for (const job of fromEnv) {
      assert.deepEqual(job.target, { registry: 'env.example.com', path: 'e' });
      assert.equal(job.transport, 'registry');
      assert.equal(job.concurrency, 9);
      assert.deepEqual(job.platforms, ['linux/arm64', 'linux/amd64']);
    }
    const fromFlags = resolveJobs(file, { target: 'flag.example.com/f', transport: 'docker', concurrency: 2, platform: ['linux/s390x'] }, env).jobs;
    for (const job of fromFlags) {
      assert.deepEqual(job.target, { registry: 'flag.example.com', path: 'f' });
      assert.equal(job.transport, 'docker');
      assert.equal(job.concurrency, 2);
      assert.deepEqual(job.platforms, ['linux/s390x']);
    }
  });

  it('runs one job with --job (or GCRSYNC_JOB)', () => {
    assert.deepEqual(resolveJobs(file, { job: 'quay' }, {}).jobs.map((j) => j.name), ['quay']);
    assert.deepEqual(resolveJobs(file, {}, { GCRSYNC_JOB: 'gcr' }).jobs.map((j) => j.name), ['gcr']);
    const unknown = failure(() => resolveJobs(file, { job: 'nope' }, {}));
    assert.equal(unknown.code, 'CONFIG');
    assert.match(unknown.message, /no job named "nope" \(the jobs of gcrsync\.yaml are gcr, quay\)/);
  });

  it('makes one job from the defaults for a source on the command line (or --job\'s settings)', () => {
    const adHoc = resolveJobs(file, { source: 'quay.io/owner' }, {}).jobs;
    assert.equal(adHoc.length, 1);
    assert.equal(adHoc[0]!.name, COMMAND_LINE_JOB);
    assert.deepEqual(adHoc[0]!.target, { registry: 'file.example.com', path: 'mirror' });
    assert.equal(adHoc[0]!.concurrency, 3);
    const fromEnv = resolveJobs(file, {}, { GCRSYNC_SOURCE: 'quay.io/other' }).jobs;
    assert.deepEqual(fromEnv[0]!.sources, [{ kind: 'spec', spec: { kind: 'namespace', registry: 'quay.io', namespace: 'other' } }]);
    const asJob = resolveJobs(file, { namespace: 'k8s-artifacts-prod', job: 'quay' }, {}).jobs;
    assert.equal(asJob[0]!.name, 'quay');
    assert.deepEqual(asJob[0]!.target, { registry: 'job.example.com', path: 'quay' });
    assert.deepEqual(asJob[0]!.sources, [{ kind: 'spec', spec: { kind: 'namespace', registry: 'gcr.io', namespace: 'k8s-artifacts-prod' } }]);
  });

  it('works without a file from flags and environment alone, as before', () => {
    const options = resolveJobs(undefined, { source: 'gcr.io/ns', target: 'x.example.com/m' }, { GCRSYNC_QUERY_LIMIT: '5' });
    assert.equal(options.configFile, undefined);
    assert.equal(options.jobs[0]!.queryLimit, 5);
    assert.equal(options.jobs[0]!.transport, 'registry');
    assert.deepEqual(options.jobs[0]!.naming, { template: '{path}', rewrite: [] });
  });
});

describe('resolveJobs: errors name where the bad value came from', () => {
  it('a bad flag, with no file, is a USAGE error naming the flag and value', () => {
    const bad = failure(() => resolveJobs(undefined, { source: 'gcr.io/Bad_NS', target: 'x.io' }, {}));
    assert.equal(bad.code, 'USAGE');
    assert.match(bad.message, /^--source: invalid reference "gcr\.io\/Bad_NS"/);
    assert.match(failure(() => resolveJobs(undefined, {}, {})).message, /a source is required/);
    assert.match(failure(() => resolveJobs(undefined, { source: 'gcr.io/ns' }, {})).message, /a target is required/);
  });

  it('reports every bad value of the file at once, with its line:column', () => {
    const broken = parseConfigFile(
      `defaults:
  target: Not A Target
jobs:
  - name: a
    source: gcr.io/Bad
    platforms: [linux]
    naming: { template: "{host}" }
    filters: { semver: "nonsense", include: ["(x"] }
    hooks:
      afterPush: { run: "", timeout: soon }
    examples: ["nginx@sha256:${'a'.repeat(64)}"]
  - name: b
    source: quay.io/calico/nested
`,
      'gcrsync.yaml',
    );
    const bad = failure(() => resolveJobs(broken, {}, {}));
    assert.equal(bad.code, 'CONFIG');
    const lines = bad.message.split('\n').slice(1).map((l) => l.trim());
    const expected = [
      /^gcrsync\.yaml:2:11 defaults\.target: invalid reference "Not A Target"/,
      /^gcrsync\.yaml:6:16 jobs\[0\]\.platforms: platform "linux" is not os\/arch\[\/variant\]/,
      /^gcrsync\.yaml:7:13 jobs\[0\]\.naming: naming template "\{host\}": unknown variable \{host\}/,
      /^gcrsync\.yaml:8:14 jobs\[0\]\.filters: filters\.include: "\(x" is not a regular expression/,
      /^gcrsync\.yaml:8:14 jobs\[0\]\.filters: filters\.semver: "nonsense" is not a semver range/,
      /^gcrsync\.yaml:10:18 jobs\[0\]\.hooks\.afterPush: the hook command is empty/,
      /^gcrsync\.yaml:5:13 jobs\[0\]\.source: invalid reference "gcr\.io\/Bad"/,
      /^gcrsync\.yaml:11:15 jobs\[0\]\.examples: .* names a digest without a tag/,
      /^gcrsync\.yaml:13:13 jobs\[1\]\.source: source "quay\.io\/calico\/nested": a Quay namespace is one path level/,
    ];
    assert.equal(lines.length, expected.length, bad.message);
    expected.forEach((pattern, i) => assert.match(lines[i]!, pattern));
  });

  it('refuses one username/password for jobs that target different registries', () => {
    const bad = failure(() => resolveJobs(file, {}, { GCRSYNC_USERNAME: 'u', GCRSYNC_PASSWORD: 'p' }));
    assert.match(bad.message, /are for one registry, but the jobs target file\.example\.com, job\.example\.com/);
    assert.doesNotMatch(bad.message, /\bp\b.*\bp\b/);
    const one = resolveJobs(file, { job: 'gcr' }, { GCRSYNC_USERNAME: 'u', GCRSYNC_PASSWORD: 'p' });
    assert.deepEqual(one.targetCredentials, { username: 'u', password: 'p' });
  });

  it('refuses a location with credentials in it without repeating them', () => {
    for (const flags of [
      { source: 'gcr.io/ns', target: 'https://bot:S3cretPass@r.example.com/x' },
      { source: 'bot:S3cretPass@r.example.com/ns', target: 'r.example.com/x' },
    ]) {
      const bad = failure(() => resolveJobs(undefined, flags, {}));
      assert.match(bad.message, /must not carry credentials/);
      assert.doesNotMatch(bad.message, /S3cretPass|bot:/);
    }
  });

  it('refuses half credentials and bad run limits', () => {
    assert.match(failure(() => resolveJobs(file, { username: 'u', job: 'gcr' }, {})).message, /both a username and a password/);
    assert.match(failure(() => resolveJobs(file, { shard: '5/3' }, {})).message, /--shard/);
  });
});
