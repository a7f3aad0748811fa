import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseConfigFile } from '../../src/config/file.js';
import { isGcrsyncError } from '../../src/errors.js';

const full = `version: 1
defaults:
  target: registry.example.com/mirror
  transport: registry
  concurrency: 4
  platforms: linux/amd64
  filters:
    exclude: '-rc'
jobs:
  - name: gcr
    source: gcr.io/google-containers
    filters: { newest: 3, stableOnly: true }
    naming:
      template: "{registry}/{namespace}/{path}"
      separator: _
      rewrite:
        - { prefix: gcr.io, replacement: gcr }
  - name: lists
    sources:
      - namespace: quay.io/calico
        api: quay
      - namespace: ghcr.io/owner
        repositories: [app, tools/cli]
      - images: [nginx:1.25, "3.10"]
      - imageList: lists/k8s.txt
    examples: [nginx:1.25]
    hooks:
      beforeRepository: aws ecr create-repository --repository-name "$GCRSYNC_TARGET_REPOSITORY"
      afterPush: { run: [echo, done], timeout: 30s }
`;

/** The problems of an invalid file, one string each, without the header line. */
function problemsOf(text: string): string[] {
  try {
    parseConfigFile(text, 'gcrsync.yaml');
  } catch (error) {
    assert.ok(isGcrsyncError(error, 'CONFIG'), String(error));
    return error.message.split('\n').slice(1).map((line) => line.trim());
  }
  assert.fail('expected the file to be refused');
}

describe('config file: reading', () => {
  it('reads defaults, jobs and every source kind, keeping scalars as text', () => {
    const file = parseConfigFile(full, '/etc/gcrsync/gcrsync.yaml');
    assert.deepEqual(file.defaults, {
      target: 'registry.example.com/mirror',
      transport: 'registry',
      concurrency: 4,
      platforms: ['linux/amd64'],
      filters: { exclude: ['-rc'] },
    });
    assert.deepEqual(file.jobs.map((j) => j.name), ['gcr', 'lists']);
    assert.deepEqual(file.jobs[0]!.settings, {
      filters: { newest: 3, stableOnly: true },
      naming: { template: '{registry}/{namespace}/{path}', separator: '_', rewrite: [{ prefix: 'gcr.io', replacement: 'gcr' }] },
    });
    assert.deepEqual(file.jobs[0]!.sources, [{ kind: 'namespace', location: 'gcr.io/google-containers', path: 'jobs[0].source' }]);
    assert.deepEqual(file.jobs[1]!.sources, [
      { kind: 'namespace', location: 'quay.io/calico', api: 'quay', path: 'jobs[1].sources[0]' },
      { kind: 'repositories', location: 'ghcr.io/owner', repositories: ['app', 'tools/cli'], path: 'jobs[1].sources[1]' },
      // YAML's core schema would make 3.10 the number 3.1; the failsafe schema keeps the text
      { kind: 'images', images: ['nginx:1.25', '3.10'], path: 'jobs[1].sources[2]' },
      { kind: 'imageList', file: resolve('/etc/gcrsync/lists/k8s.txt'), path: 'jobs[1].sources[3]' },
    ]);
    assert.deepEqual(file.jobs[1]!.settings.hooks, {
      beforeRepository: { run: 'aws ecr create-repository --repository-name "$GCRSYNC_TARGET_REPOSITORY"' },
      afterPush: { run: ['echo', 'done'], timeout: '30s' },
    });
    assert.equal(file.where('jobs[1].hooks.afterPush'), '/etc/gcrsync/gcrsync.yaml:29:18');
  });

  it('follows YAML anchors and aliases', () => {
    const file = parseConfigFile('defaults:\n  hooks:\n    afterPush: &hook { run: [true] }\njobs:\n  - name: a\n    source: gcr.io/x\n    hooks: { beforeRepository: *hook }\n', 'g.yaml');
    assert.deepEqual(file.jobs[0]!.settings.hooks, { beforeRepository: { run: ['true'] } });
  });
});

describe('config file: validation errors name the path and line:column', () => {
  const cases: Array<{ name: string; text: string; expected: string[] }> = [
    {
      name: 'unknown keys at every level',
      text: 'defaults:\n  targt: x\njobs:\n  - name: a\n    source: gcr.io/x\n    filters:\n      newst: 3\n    naming: { templte: x }\n',
      expected: [
        'gcrsync.yaml:2:3 defaults.targt: unknown key (known here: target, metadataRepo, transport, concurrency, connections, queryLimit, platforms, schema1, allowNondistributable, referrers, naming, filters, proxy, tls, credentials, hooks, verify)',
        'gcrsync.yaml:7:7 jobs[0].filters.newst: unknown key (known here: include, exclude, semver, newerThan, stableOnly, newest)',
        'gcrsync.yaml:8:15 jobs[0].naming.templte: unknown key (known here: template, separator, rewrite)',
      ],
    },
    {
      name: 'wrong types',
      text: 'jobs:\n  - name: a\n    source: gcr.io/x\n    concurrency: lots\n    filters: { stableOnly: yes, newest: -1 }\n    platforms: { linux: amd64 }\n    transport: ftp\n    examples: [a, [b]]\n',
      expected: [
        'gcrsync.yaml:4:18 jobs[0].concurrency: expected a whole number from 1 to 1000, got "lots"',
        'gcrsync.yaml:5:28 jobs[0].filters.stableOnly: expected true or false, got "yes"',
        'gcrsync.yaml:5:41 jobs[0].filters.newest: expected a whole number from 1 to 100000, got "-1"',
        'gcrsync.yaml:6:16 jobs[0].platforms: expected a platform or a list of os/arch[/variant], got a mapping',
        'gcrsync.yaml:7:16 jobs[0].transport: expected registry or docker, got "ftp"',
        'gcrsync.yaml:8:19 jobs[0].examples[1]: expected a string, got a list',
      ],
    },
    {
      name: 'missing and contradictory fields',
      text: 'jobs:\n  - source: gcr.io/x\n  - name: b\n  - name: c\n    source: gcr.io/y\n    sources: [gcr.io/z]\n  - name: c\n    sources:\n      - { images: [a], imageList: b }\n      - { repositories: [a] }\n      - { namespace: quay.io/x, api: gopher }\n',
      expected: [
        'gcrsync.yaml:2:5 jobs[0]: name is required',
        'gcrsync.yaml:3:5 jobs[1]: job "b" has no source (source or sources)',
        'gcrsync.yaml:6:14 jobs[2]: give source or sources, not both',
        'gcrsync.yaml:7:11 jobs[3].name: "c" is also the name of jobs[2]',
        'gcrsync.yaml:9:35 jobs[3].sources[0]: give one of repositories, images, imageList per source, not images and imageList',
        'gcrsync.yaml:10:25 jobs[3].sources[1]: repositories are named under a namespace: add namespace: REGISTRY/NAMESPACE',
        'gcrsync.yaml:11:38 jobs[3].sources[2].api: expected one of google, quay, docker-hub, catalog, got "gopher"',
      ],
    },
    {
      name: 'empty values and required keys inside a value that may be a string or a mapping',
      text: 'jobs:\n  - name: a\n    sources:\n  - name: b\n    source: gcr.io/x\n    hooks: { afterPush: { runn: x } }\n',
      expected: [
        'gcrsync.yaml:2:5 jobs[0]: job "a" has no source (source or sources)',
        'gcrsync.yaml:3:13 jobs[0].sources: expected a list, got nothing',
        'gcrsync.yaml:6:25 jobs[1].hooks.afterPush: run is required',
        'gcrsync.yaml:6:27 jobs[1].hooks.afterPush.runn: unknown key (known here: run, timeout)',
      ],
    },
    { name: 'no jobs', text: 'defaults: {}\n', expected: ['gcrsync.yaml:1:1 top level: jobs is required'] },
    { name: 'an empty job list', text: 'jobs: []\n', expected: ['gcrsync.yaml:1:7 jobs: the list is empty'] },
    { name: 'an unsupported version', text: 'version: 2\njobs: []\n', expected: ['gcrsync.yaml:1:10 version: expected 1, got "2"', 'gcrsync.yaml:2:7 jobs: the list is empty'] },
    { name: 'a bad job name', text: 'jobs:\n  - name: Daily Run\n    source: gcr.io/x\n', expected: ['gcrsync.yaml:2:11 jobs[0].name: "Daily Run" must be lowercase letters, digits, . _ - (at most 63)'] },
    { name: 'YAML syntax', text: 'jobs: [\n', expected: ['gcrsync.yaml:2:1 Flow sequence in block collection must be sufficiently indented and end with a ]'] },
    { name: 'duplicate keys', text: 'jobs: []\njobs: []\n', expected: ['gcrsync.yaml:2:1 Map keys must be unique'] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problemsOf(c.text), c.expected));
  }
});

describe('config file: the shipped example', () => {
  it('examples/gcrsync.yaml is valid and resolves every job', async () => {
    const { readFile } = await import('node:fs/promises');
    const { resolveJobs } = await import('../../src/config/settings.js');
    const path = new URL('../../examples/gcrsync.yaml', import.meta.url);
    const file = parseConfigFile(await readFile(path, 'utf8'), 'examples/gcrsync.yaml');
    const options = resolveJobs(file, {}, {});
    assert.deepEqual(options.jobs.map((j) => j.name), ['google-containers', 'kubeadm', 'ecr', 'swr']);
    assert.deepEqual(options.jobs[0]!.platforms, [], 'a job can clear the default platform list');
    assert.equal(options.jobs[2]!.hooks.beforeRepository?.timeoutMs, 60_000);
  });
});
