import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { isValidRepositoryPath } from '../../src/ref/reference.js';
import { walkGoogle } from '../../src/sources/google.js';
import type { Listing } from '../../src/sources/source.js';
import { FakeListingClient, digest } from './sources-fake-client.js';

const registry = 'gcr.io';
const pairs = (listing: Listing) => listing.tags.map((t) => `${t.repository}:${t.tag}@${t.digest}`);

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) };
}

describe('walkGoogle', () => {
  it('walks three levels of children and takes digests from the manifest map', async () => {
    const client = new FakeListingClient({
      ns: { child: ['a', 'b'] },
      'ns/a': { child: ['x'] },
      'ns/b': { manifest: { [digest(1)]: ['v1', 'latest'] }, tags: ['latest', 'v1'] },
      'ns/a/x': { child: ['y'] },
      'ns/a/x/y': { manifest: { [digest(2)]: ['1.0'] }, tags: ['1.0'] },
    });
    const listing = await walkGoogle(client, { registry, namespace: 'ns' }, { queryLimit: 4, signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/a/x/y:1.0@${digest(2)}`, `ns/b:latest@${digest(1)}`, `ns/b:v1@${digest(1)}`]);
    assert.deepEqual(listing.problems, []);
    assert.equal(client.count('head'), 0, 'every digest was in the manifest map');
    assert.deepEqual([...client.requests].sort(), ['google ns', 'google ns/a', 'google ns/a/x', 'google ns/a/x/y', 'google ns/b']);
    assert.equal(listing.tags[0]!.mediaType, 'application/vnd.oci.image.index.v1+json');
  });

  it('lists a path that is both a repository and a parent, and a namespace root with images', async () => {
    const client = new FakeListingClient({
      'ns/app': { manifest: { [digest(1)]: ['v1'] }, tags: ['v1'], child: ['sub'] },
      'ns/app/sub': { manifest: { [digest(2)]: ['v2'] }, tags: ['v2'] },
    });
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/app:v1@${digest(1)}`, `ns/app/sub:v2@${digest(2)}`]);
  });

  it('walks from the registry root when the namespace is empty', async () => {
    const client = new FakeListingClient({
      '': { child: ['pause', 'etcd'] },
      pause: { manifest: { [digest(3)]: ['3.9'] }, tags: ['3.9'] },
      etcd: { manifest: { [digest(4)]: ['3.5.0-0'] }, tags: ['3.5.0-0'] },
    });
    const listing = await walkGoogle(client, { registry: 'registry.k8s.io', namespace: '' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`etcd:3.5.0-0@${digest(4)}`, `pause:3.9@${digest(3)}`]);
  });

  it('keys results by the path asked for, not the backend name of a redirect', async () => {
    const client = new FakeListingClient({
      '': { child: ['hpa-example'], name: 'k8s-artifacts-prod/images' },
      'hpa-example': { manifest: { [digest(5)]: ['latest'] }, tags: ['latest'], name: 'k8s-artifacts-prod/images/hpa-example' },
    });
    const listing = await walkGoogle(client, { registry: 'registry.k8s.io', namespace: '' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`hpa-example:latest@${digest(5)}`]);
  });

  it('HEADs only the tags missing from the manifest map', async () => {
    const client = new FakeListingClient(
      { 'ns/app': { manifest: { [digest(1)]: ['v1'], [digest(2)]: ['v2'] }, tags: ['v1', 'v2', 'v3', 'v4'] } },
      { heads: { 'ns/app:v3': digest(3), 'ns/app:v4': digest(4) } },
    );
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [1, 2, 3, 4].map((n) => `ns/app:v${n}@${digest(n)}`));
    assert.deepEqual(client.requests.filter((r) => r.startsWith('head')).sort(), ['head ns/app:v3', 'head ns/app:v4']);
    assert.equal(listing.tags[2]!.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });

  it('lists tags that appear only in the manifest map', async () => {
    const client = new FakeListingClient({ 'ns/app': { manifest: { [digest(1)]: ['only-in-map'] }, tags: [] } });
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/app:only-in-map@${digest(1)}`]);
  });

  it('asks the registry about a tag the map puts under two digests', async () => {
    const client = new FakeListingClient(
      { 'ns/app': { manifest: { [digest(1)]: ['v1'], [digest(2)]: ['v1'] }, tags: ['v1'] } },
      { heads: { 'ns/app:v1': digest(2) } },
    );
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/app:v1@${digest(2)}`]);
    assert.equal(client.count('head'), 1);
  });

  it('refuses hostile children with a problem each and never requests them', async () => {
    const hostile = ['', 'a/b', '..', '../../etc', 'x'.repeat(300), 'café', 'UPPER', 'sp ace', 'new\nline', '-dash', null as unknown as string];
    const client = new FakeListingClient({
      ns: { child: [...hostile, 'good'] },
      'ns/good': { manifest: { [digest(1)]: ['v1'] }, tags: ['v1'] },
    });
    const { lines, logger } = capturingLogger();
    const listing = await walkGoogle(client, { registry, namespace: 'ns' }, { logger, signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/good:v1@${digest(1)}`]);
    assert.equal(listing.problems.length, hostile.length);
    for (const problem of listing.problems) {
      assert.ok(isGcrsyncError(problem.error, 'HOSTILE_RESPONSE'), problem.error.message);
      assert.equal(problem.subject, 'ns');
      assert.match(problem.error.message, /refused child/);
      assert.doesNotMatch(problem.error.message, /[^\x20-\x7e]/, 'the message shows no raw control or non-ASCII characters');
    }
    assert.ok(listing.problems.some((p) => p.error.message.includes('"../../etc"')), 'the problem names the refused child');
    assert.deepEqual([...client.requests].sort(), ['google ns', 'google ns/good']);
    for (const request of client.requests) assert.ok(isValidRepositoryPath(request.slice('google '.length)));
    assert.equal(lines.filter((l) => l.startsWith('WARN')).length, hostile.length);
  });

  it('refuses hostile tags in the tag list and in the manifest map, and never HEADs them', async () => {
    const hostileTags = ['a/b', '..', 'v1..2', '', 'ünï', 't'.repeat(129), '-lead', 'with space'];
    const client = new FakeListingClient(
      {
        'ns/app': {
          manifest: { [digest(1)]: ['v1', '../../x'], 'sha256:not-hex': ['v2'] },
          tags: ['v1', 'v2', ...hostileTags],
        },
      },
      { heads: { 'ns/app:v2': digest(2) } },
    );
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/app:v1@${digest(1)}`, `ns/app:v2@${digest(2)}`]);
    assert.deepEqual(client.requests.filter((r) => r.startsWith('head')), ['head ns/app:v2'], 'only the tag under a refused digest is HEADed');
    const refused = listing.problems.map((p) => p.error.message);
    assert.equal(listing.problems.length, hostileTags.length + 2, refused.join('\n'));
    assert.ok(listing.problems.every((p) => isGcrsyncError(p.error, 'HOSTILE_RESPONSE')));
    assert.ok(refused.some((m) => m.includes('refused digest "sha256:not-hex"')));
    assert.ok(refused.some((m) => m.includes('refused tag "../../x"')));
  });

  it('records a failing child as a problem and lists the rest', async () => {
    const client = new FakeListingClient({
      ns: { child: ['broken', 'missing', 'ok'] },
      'ns/broken': { fail: new Error('socket hang up') },
      'ns/ok': { manifest: { [digest(1)]: ['v1'] }, tags: ['v1'] },
    });
    const listing = await walkGoogle(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/ok:v1@${digest(1)}`]);
    assert.deepEqual(listing.problems.map((p) => [p.subject, p.error.code]), [['ns/broken', 'REGISTRY'], ['ns/missing', 'NOT_FOUND']]);
    assert.match(listing.problems[0]!.error.message, /socket hang up/);
  });

  it('reports a listed tag whose manifest is gone', async () => {
    const client = new FakeListingClient({ 'ns/app': { tags: ['gone'] } });
    const listing = await walkGoogle(client, { registry, namespace: 'ns/app' }, { signal: UNINTERRUPTED });
    assert.deepEqual(listing.tags, []);
    assert.deepEqual(listing.problems.map((p) => [p.subject, p.error.code]), [['ns/app:gone', 'NOT_FOUND']]);
  });

  it('falls back to the standard tags/list for a child that answers without the extension', async () => {
    const client = new FakeListingClient(
      { ns: { child: ['plain'] }, 'ns/plain': { plain: true, tags: ['v1'] } },
      { heads: { 'ns/plain:v1': digest(9) } },
    );
    const listing = await walkGoogle(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED });
    assert.deepEqual(pairs(listing), [`ns/plain:v1@${digest(9)}`]);
    assert.deepEqual(client.requests, ['google ns', 'google ns/plain', 'tags ns/plain', 'head ns/plain:v1']);
  });

  it('keeps at most queryLimit requests in flight', async () => {
    const nodes: Record<string, { child?: string[]; tags?: string[] }> = { ns: { child: [] } };
    const heads: Record<string, string> = {};
    for (let i = 0; i < 30; i++) {
      nodes.ns!.child!.push(`c${i}`);
      nodes[`ns/c${i}`] = { tags: ['a', 'b'] };
      heads[`ns/c${i}:a`] = digest(i * 2);
      heads[`ns/c${i}:b`] = digest(i * 2 + 1);
    }
    const client = new FakeListingClient(nodes, { heads, delayMs: 3 });
    const listing = await walkGoogle(client, { registry, namespace: 'ns' }, { queryLimit: 3, signal: UNINTERRUPTED });
    assert.equal(listing.tags.length, 60);
    assert.equal(client.requests.length, 1 + 30 + 60);
    assert.equal(client.maxInFlight, 3);
  });

  it('throws SOURCE_UNREACHABLE when the namespace itself cannot be listed', async () => {
    const client = new FakeListingClient({}, { unreachable: true });
    await assert.rejects(walkGoogle(client, { registry, namespace: 'ns' }, { signal: UNINTERRUPTED }), (error: unknown) => {
      return isGcrsyncError(error, 'SOURCE_UNREACHABLE') && error.message.includes('gcr.io/ns') && /ECONNREFUSED/.test(error.message);
    });
  });

  it('warns when one answer reaches the 10000-item cap', async () => {
    const tags = Array.from({ length: 10_000 }, (_, i) => `t${i}`);
    const client = new FakeListingClient({ 'ns/big': { manifest: { [digest(1)]: tags }, tags } });
    const { lines, logger } = capturingLogger();
    const listing = await walkGoogle(client, { registry, namespace: 'ns/big' }, { logger, signal: UNINTERRUPTED });
    assert.equal(listing.tags.length, 10_000);
    assert.ok(lines.some((l) => l.startsWith('WARN') && l.includes('cap') && l.includes('items=10000')), lines.join('\n'));
  });

  it('does not warn below the cap', async () => {
    const client = new FakeListingClient({ 'ns/app': { manifest: { [digest(1)]: ['v1'] }, tags: ['v1'] } });
    const { lines, logger } = capturingLogger();
    await walkGoogle(client, { registry, namespace: 'ns/app' }, { logger, signal: UNINTERRUPTED });
    assert.deepEqual(lines.filter((l) => l.startsWith('WARN')), []);
  });

  it('turns a cancelled walk into ABORTED, not a partial listing', async () => {
    const nodes: Record<string, { child?: string[]; tags?: string[] }> = { ns: { child: [] } };
    for (let i = 0; i < 20; i++) {
      nodes.ns!.child!.push(`c${i}`);
      nodes[`ns/c${i}`] = { tags: ['v1'] };
    }
    const client = new FakeListingClient(nodes, { delayMs: 5 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 12);
    await assert.rejects(walkGoogle(client, { registry, namespace: 'ns' }, { queryLimit: 2, signal: controller.signal }), (error: unknown) =>
      isGcrsyncError(error, 'ABORTED'),
    );
    assert.ok(client.requests.length < 21, `stopped early after ${client.requests.length} requests`);
  });

  it('refuses a query limit below one', async () => {
    const client = new FakeListingClient({});
    await assert.rejects(walkGoogle(client, { registry, namespace: 'ns' }, { queryLimit: 0, signal: UNINTERRUPTED }), (error: unknown) => isGcrsyncError(error, 'USAGE'));
  });
});
