import assert from 'node:assert/strict';
import type { JobOptions } from '../../src/config/job-options.js';
import { findConflicts, type JobRun } from '../../src/jobs/plan.js';
import { createMirrorNamer, DEFAULT_NAMING, type NamingRules } from '../../src/ref/naming.js';
import type { SourceSpec } from '../../src/sources/index.js';

const digest = `sha256:${'a'.repeat(64)}`;

function job(name: string, target: string, naming: NamingRules = DEFAULT_NAMING, metadataRepo?: string): JobOptions {
  const [registry, ...path] = target.split('/');
  return {
    name,
    sources: [],
    target: { registry: registry!, path: path.join('/') },
    ...(metadataRepo !== undefined && { metadataRepo }),
    transport: 'registry',
    concurrency: 1,
    queryLimit: 1,
    platforms: [],
    schema1: 'skip',
    referrers: true,
    allowNondistributable: false,
    naming,
    filters: {},
    hooks: {},
    examples: [],
    tls: {},
    credentials: {},
  };
}

function run(j: JobOptions, registry: string, namespace: string, images: string[]): { run: JobRun; listing: { tags: Array<{ repository: string; tag: string; digest: string }>; problems: [] } } {
  const spec: SourceSpec = { kind: 'namespace', registry, namespace };
  return {
    run: { job: j, spec, name: createMirrorNamer({ registry, namespace }, j.target, j.naming) },
    listing: {
      tags: images.map((image) => {
        const [repository, tag] = image.split(':');
        return { repository: repository!, tag: tag!, digest };
      }),
      problems: [],
    },
  };
}

describe('mirror name conflicts over every run (before anything is copied)', () => {
  it('finds two repositories that flatten onto one Docker Hub name in one run', () => {
    const hub = job('hub', 'docker.io/gcrxio');
    assert.deepEqual(findConflicts([run(hub, 'gcr.io', 'ns', ['ns/a/b:1', 'ns/a_b:1', 'ns/c:1'])]), [
      'gcr.io/ns/a/b:1 (job hub) and gcr.io/ns/a_b:1 (job hub) both map to docker.io/gcrxio/a_b:1',
    ]);
  });

  it('finds two jobs whose rules send different sources to one name', () => {
    const flat = { template: '{repo}', rewrite: [] };
    const conflicts = findConflicts([
      run(job('k8s', 'registry.example.com/google_containers', flat), 'registry.k8s.io', '', ['coredns/coredns:v1.11.1', 'pause:3.9']),
      run(job('extra', 'registry.example.com/google_containers', flat, 'other-metadata'), 'quay.io', 'someone', ['someone/coredns:v1.11.1']),
    ]);
    assert.deepEqual(conflicts, [
      'registry.k8s.io/coredns/coredns:v1.11.1 (job k8s) and quay.io/someone/coredns:v1.11.1 (job extra) both map to registry.example.com/google_containers/coredns:v1.11.1',
    ]);
  });

  it('finds one source mirrored under two names of one target location (one metadata file), but not to two targets or with separate repos', () => {
    const shared = findConflicts([
      run(job('one', 'r1.example.com/m'), 'gcr.io', 'ns', ['ns/app:1']),
      run(job('two', 'r1.example.com/m', { template: 'flat-{repo}', rewrite: [] }), 'gcr.io', 'ns', ['ns/app:1']),
    ]);
    assert.equal(shared.length, 1);
    assert.match(shared[0]!, /gcr\.io\/ns\/app:1 is mirrored by jobs one and two, which share one metadata file/);
    // two targets keep their records in two files of the metadata repo
    assert.deepEqual(
      findConflicts([
        run(job('one', 'r1.example.com/m'), 'gcr.io', 'ns', ['ns/app:1']),
        run(job('two', 'r2.example.com/m'), 'gcr.io', 'ns', ['ns/app:1']),
      ]),
      [],
    );
    assert.deepEqual(
      findConflicts([
        run(job('one', 'r1.example.com/m', DEFAULT_NAMING, 'meta-one'), 'gcr.io', 'ns', ['ns/app:1']),
        run(job('two', 'r2.example.com/m', DEFAULT_NAMING, 'meta-two'), 'gcr.io', 'ns', ['ns/app:1']),
      ]),
      [],
    );
    // the same image to the same name from two jobs is only done once
    assert.deepEqual(
      findConflicts([
        run(job('one', 'r1.example.com/m'), 'gcr.io', 'ns', ['ns/app:1']),
        run(job('two', 'r1.example.com/m'), 'gcr.io', 'ns', ['ns/app:1']),
      ]),
      [],
    );
  });

  it('leaves a name that cannot be made to its run, and applies the job filters first', () => {
    const byTag = job('tags', 'r.example.com/m', { template: '{tag}', rewrite: [] });
    assert.deepEqual(findConflicts([run(byTag, 'gcr.io', 'ns', ['ns/app:UPPER', 'ns/other:UPPER'])]), []);
    const filtered = run(job('hub', 'docker.io/gcrxio'), 'gcr.io', 'ns', ['ns/a/b:1', 'ns/a_b:1']);
    filtered.run.selectTags = (tags) => tags.filter((t) => t.repository !== 'ns/a_b');
    assert.deepEqual(findConflicts([filtered]), []);
  });
});
