import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { CHANGELOG_HEADER, renderChangelogSection } from '../../src/store/changelog.js';
import { type MetadataChange, openMetadataRepo } from '../../src/store/metadata-repo.js';
import { applyUpdates, findRecord, listRecords, serializeMetadata } from '../../src/store/schema.js';
import { type BareRemote, TEST_IDENTITY, cloneWithIdentity, git, pushByHand, showExact } from '../support/git.js';
import { metadataRepoFixtures } from '../support/metadata-repos.js';
import { freePort, tempDir } from '../support/temp.js';

const header = { source: 'gcr.io/google-containers', target: 'docker.io/gcrxio' };
const FILE = 'metadata/gcr.io/google-containers.json';
const QUAY_FILE = 'metadata/quay.io/coreos.json';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/** A change that records `repository:tag` entries (digest n) in `file`, merged into whatever the file holds. */
function put(file: string, entries: Array<[string, string, number]>): MetadataChange {
  const updates = entries.map(([repository, tag, n]) => ({
    repository,
    tag,
    record: { digest: digest(n), target: `docker.io/gcrxio/${repository}:${tag}`, syncedAt: '2026-11-23T12:34:56.000Z' },
  }));
  return { file, update: (current) => applyUpdates(current, header, updates) };
}

function section(second: number, source: string): string {
  return renderChangelogSection({
    time: new Date(Date.UTC(2026, 10, 23, 12, 0, second)),
    entries: [{ source, target: source.replace(/^[^/]+\/[^/]+/, 'docker.io/gcrxio'), kind: 'new' }],
  });
}

/** The entries of a metadata file on the remote, as `repository:tag=n`. */
async function remoteEntries(remote: BareRemote, file = FILE): Promise<string[]> {
  const { parseMetadata } = await import('../../src/store/schema.js');
  return listRecords(parseMetadata(await showExact(remote, file), file)).map((r) => `${r.repository}:${r.tag}=${r.record.digest.slice(-1)}`);
}

/** `commit parent…` lines of the remote main, newest first. */
async function history(remote: BareRemote): Promise<string[][]> {
  return (await git(remote.path, 'rev-list', '--parents', 'main')).split('\n').map((line) => line.split(' '));
}

describe('metadata repo (real git, bare remotes)', function () {
  this.timeout(60_000);
  const { cleanups, remoteFor, open } = metadataRepoFixtures({ denyDeletes: true });

  it("gives an empty remote its first commit on the branch its HEAD names, with the gcrsync identity", async () => {
    const remote = await remoteFor({ empty: true });
    // as after a plain `git init --bare` where init.defaultBranch is unset: HEAD names master, not yet born
    await git(remote.path, 'symbolic-ref', 'HEAD', 'refs/heads/master');
    const repo = await open(remote);
    assert.equal(repo.branch, 'master');
    assert.equal(repo.hasRemote, true);
    assert.equal(await repo.read(FILE, UNINTERRUPTED), undefined);
    assert.deepEqual(await repo.listFiles(UNINTERRUPTED), []);

    const result = await repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'gcr.io/google-containers/pause:3.1'), message: 'first sync', signal: UNINTERRUPTED });
    assert.deepEqual(result, { committed: true, commit: result.commit, pushed: true, attempts: 1 });
    assert.equal(await remote.head('master'), result.commit);
    assert.equal(await remote.head('main'), undefined, 'no branch beside the one HEAD names');
    assert.equal(await showExact(remote, 'CHANGELOG.md', 'master'), `${CHANGELOG_HEADER}\n${section(1, 'gcr.io/google-containers/pause:3.1')}`);
    assert.equal(await git(remote.path, 'log', '-1', '--format=%an <%ae>|%s', 'master'), 'gcrsync <gcrsync@localhost>|first sync');
    assert.equal(await git(repo.path, 'config', '--get', 'remote.origin.url'), remote.url);

    // people browse the metadata with a plain clone: it checks the files out (with main it found nothing)
    const checkout = await cloneWithIdentity(remote.url);
    cleanups.push(() => checkout.cleanup());
    assert.equal(await readFile(join(checkout.dir, 'CHANGELOG.md'), 'utf8'), await showExact(remote, 'CHANGELOG.md', 'master'));

    const second = await open(remote);
    assert.equal(second.branch, 'master');
    assert.equal(findRecord(await second.read(FILE, UNINTERRUPTED), 'pause', '3.1')?.digest, digest(1));
  });

  it('keeps committing to main on a remote whose HEAD names a branch that does not exist beside main', async () => {
    const remote = await remoteFor({ empty: true });
    await pushByHand(remote, { 'README.md': '# metadata\n' });
    await git(remote.path, 'symbolic-ref', 'HEAD', 'refs/heads/master');
    const repo = await open(remote);
    assert.equal(repo.branch, 'main');
  });

  it('pushes to the remote, and a no-op commit leaves both HEADs where they were', async () => {
    const remote = await remoteFor();
    const repo = await open(remote);
    const first = await repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'gcr.io/google-containers/pause:3.1'), message: 'sync 1', signal: UNINTERRUPTED });
    assert.equal(first.pushed, true);
    assert.deepEqual((await git(remote.path, 'log', '--format=%s', 'main')).split('\n'), ['sync 1', 'Initial commit']);
    const remoteHead = await remote.head();
    const changelog = await showExact(remote, 'CHANGELOG.md');

    const noops: MetadataChange[][] = [
      [put(FILE, [['pause', '3.1', 1]])], // the same record again
      [{ file: FILE, update: (current) => current! }],
      [put(QUAY_FILE, [])], // a namespace with nothing synced gets no file
      [],
    ];
    for (const changes of noops) {
      const result = await repo.commit({ changes, changelogSection: section(2, 'gcr.io/google-containers/pause:3.1'), message: 'nothing', signal: UNINTERRUPTED });
      assert.deepEqual(result, { committed: false, pushed: false, attempts: 1 });
    }
    assert.equal(await remote.head(), remoteHead);
    assert.equal(await git(repo.path, 'rev-parse', 'HEAD'), remoteHead);
    assert.equal(await showExact(remote, 'CHANGELOG.md'), changelog);
    assert.equal(await git(repo.path, 'status', '--porcelain'), '');
  });

  it('clones only the branch tips, and its commits land on top of the whole history, also after the remote moved', async () => {
    const remote = await remoteFor();
    await pushByHand(remote, { 'notes/a.md': 'a\n' }, 'by hand 1');
    await git(remote.path, 'branch', 'archive', 'main');
    await pushByHand(remote, { 'notes/b.md': 'b\n' }, 'by hand 2');
    const repo = await open(remote);
    // nothing reads the history: one commit of it is cloned, and every branch tip is still there to choose from
    assert.equal(await git(repo.path, 'rev-list', '--count', 'HEAD'), '1');
    assert.deepEqual((await git(repo.path, 'for-each-ref', '--format=%(refname:lstrip=3)', 'refs/remotes/origin/')).split('\n').sort(), ['HEAD', 'archive', 'main']);
    assert.equal(repo.branch, 'main');
    assert.equal(await readFile(join(repo.path, 'notes/b.md'), 'utf8'), 'b\n');

    await pushByHand(remote, { 'notes/c.md': 'c\n' }, 'by hand 3');
    const result = await repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'gcr.io/google-containers/pause:3.1'), message: 'sync 1', signal: UNINTERRUPTED });
    assert.equal(result.pushed, true);
    assert.deepEqual((await git(remote.path, 'log', '--format=%s', 'main')).split('\n'), ['sync 1', 'by hand 3', 'by hand 2', 'by hand 1', 'Initial commit']);
    assert.equal(await showExact(remote, 'notes/c.md'), 'c\n');
    assert.deepEqual(await remoteEntries(remote), ['pause:3.1=1']);
    await git(remote.path, 'fsck', '--strict', '--no-dangling');
  });

  it('re-applies a rejected push onto the remote by content: both entry sets and both sections, fast-forward only', async () => {
    const remote = await remoteFor();
    const a = await open(remote);
    const b = await open(remote); // cloned before a pushes: its push must be rejected
    const sectionA = section(1, 'gcr.io/google-containers/pause:3.1');
    const sectionB = section(2, 'gcr.io/google-containers/etcd:3.4');

    const resultA = await a.commit({ changes: [put(FILE, [['pause', '3.1', 1], ['pause', '3.2', 1]])], changelogSection: sectionA, message: 'sync a', signal: UNINTERRUPTED });
    const resultB = await b.commit({ changes: [put(FILE, [['etcd', '3.4', 2], ['pause', '3.2', 2]])], changelogSection: sectionB, message: 'sync b', signal: UNINTERRUPTED });
    assert.equal(resultA.attempts, 1);
    assert.deepEqual({ ...resultB, commit: undefined }, { committed: true, commit: undefined, pushed: true, attempts: 2 });

    // b's update ran again on a's file: a's entries stay, b's record for the shared tag wins
    assert.deepEqual(await remoteEntries(remote), ['etcd:3.4=2', 'pause:3.1=1', 'pause:3.2=2']);
    assert.equal(await showExact(remote, 'CHANGELOG.md'), `${CHANGELOG_HEADER}\n${sectionB}\n${sectionA}`);
    const commits = await history(remote);
    assert.equal(commits.length, 3);
    assert.deepEqual(commits[0], [resultB.commit, resultA.commit], 'b was rebuilt on top of a');
    assert.ok(commits.every((line) => line.length <= 2), 'no merge commits');
    assert.deepEqual((await git(remote.path, 'log', '--format=%s', 'main')).split('\n'), ['sync b', 'sync a', 'Initial commit']);
    assert.equal(await git(b.path, 'rev-parse', 'HEAD'), resultB.commit);
  });

  it('lands every entry and every changelog section when three writers race (same and different files)', async () => {
    const remote = await remoteFor();
    const writers = await Promise.all([open(remote), open(remote), open(remote)]);
    const requests = [
      { changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'gcr.io/google-containers/pause:3.1'), message: 'writer 1', signal: UNINTERRUPTED },
      { changes: [put(FILE, [['etcd', '3.4', 2]]), put(QUAY_FILE, [['flannel', 'v1', 2]])], changelogSection: section(2, 'gcr.io/google-containers/etcd:3.4'), message: 'writer 2', signal: UNINTERRUPTED },
      { changes: [put(QUAY_FILE, [['etcd', 'v3', 3]])], changelogSection: section(3, 'quay.io/coreos/etcd:v3'), message: 'writer 3', signal: UNINTERRUPTED },
    ];
    const results = await Promise.all(writers.map((repo, i) => repo.commit(requests[i]!)));
    for (const result of results) assert.equal(result.pushed, true);
    assert.ok(results.reduce((sum, r) => sum + r.attempts, 0) >= 4, 'at least two writers had to retry');

    assert.deepEqual(await remoteEntries(remote), ['etcd:3.4=2', 'pause:3.1=1']);
    assert.deepEqual(await remoteEntries(remote, QUAY_FILE), ['etcd:v3=3', 'flannel:v1=2']);
    const changelog = await showExact(remote, 'CHANGELOG.md');
    assert.equal(changelog.split(CHANGELOG_HEADER).length, 2, 'one header');
    for (const request of requests) assert.equal(changelog.split(request.changelogSection).length, 2, 'each section exactly once');
    const commits = await history(remote);
    assert.equal(commits.length, 4);
    assert.ok(commits.every((line) => line.length <= 2), 'linear history');
  });

  it('lands both writers racing to make the first commit of an empty remote', async () => {
    const remote = await remoteFor({ empty: true });
    const [a, b] = await Promise.all([open(remote), open(remote)]);
    const sectionA = section(1, 'gcr.io/google-containers/pause:3.1');
    const sectionB = section(2, 'gcr.io/google-containers/etcd:3.4');
    const results = await Promise.all([
      a!.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: sectionA, message: 'a', signal: UNINTERRUPTED }),
      b!.commit({ changes: [put(FILE, [['etcd', '3.4', 2]])], changelogSection: sectionB, message: 'b', signal: UNINTERRUPTED }),
    ]);
    assert.deepEqual(results.map((r) => r.attempts).sort(), [1, 2]);
    assert.deepEqual(await remoteEntries(remote), ['etcd:3.4=2', 'pause:3.1=1']);
    const [first, second] = results[0]!.attempts === 1 ? [sectionA, sectionB] : [sectionB, sectionA];
    assert.equal(await showExact(remote, 'CHANGELOG.md'), `${CHANGELOG_HEADER}\n${second}\n${first}`);
    assert.equal((await history(remote)).length, 2);
  });

  it('refuses a corrupt file, naming it and the line:column, and leaves it untouched', async () => {
    const remote = await remoteFor();
    const corrupt = '{\n  "source": "gcr.io/google-containers",\n  "images": {\n}';
    await pushByHand(remote, { [FILE]: corrupt });
    const head = await remote.head();
    const repo = await open(remote);
    const isCorrupt = (e: unknown) => isGcrsyncError(e, 'METADATA_CORRUPT') && e.message.startsWith(`${FILE}:4:2: invalid JSON`);

    await assert.rejects(repo.read(FILE, UNINTERRUPTED), isCorrupt);
    await assert.rejects(repo.readAll(UNINTERRUPTED), isCorrupt);
    await assert.rejects(
      repo.commit({ changes: [put(QUAY_FILE, [['a', 'v1', 1]]), put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'x.io/a/b:1'), message: 'nope', signal: UNINTERRUPTED }),
      isCorrupt,
    );
    assert.equal(await readFile(join(repo.path, FILE), 'utf8'), corrupt);
    assert.equal(await git(repo.path, 'status', '--porcelain'), '', 'nothing written, not even the other file or CHANGELOG.md');
    assert.equal(await remote.head(), head);
  });

  it('migrates a file in the old gcrsync format on the next write', async () => {
    const remote = await remoteFor();
    await pushByHand(remote, { [FILE]: '["pause:3.1","etcd:3.2.24"]' });
    const repo = await open(remote);
    const old = await repo.read(FILE, UNINTERRUPTED);
    assert.equal(findRecord(old, 'pause', '3.1')?.digest, '');

    await repo.commit({ changes: [put(FILE, [['pause', '3.2', 2]])], message: 'sync', signal: UNINTERRUPTED });
    const text = await showExact(remote, FILE);
    assert.equal(text, serializeMetadata(applyUpdates(old, header, [{ repository: 'pause', tag: '3.2', record: findRecord(await repo.read(FILE, UNINTERRUPTED), 'pause', '3.2')! }])));
    assert.deepEqual(await remoteEntries(remote), ['etcd:3.2.24=', 'pause:3.1=', 'pause:3.2=2']);
  });

  it('commits without pushing when asked to', async () => {
    const remote = await remoteFor();
    const head = await remote.head();
    const repo = await open(remote);
    const result = await repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], message: 'local only', push: false, signal: UNINTERRUPTED });
    assert.equal(result.committed, true);
    assert.equal(result.pushed, false);
    assert.equal(await git(repo.path, 'rev-parse', 'HEAD'), result.commit);
    assert.equal(await remote.head(), head);
  });

  it('keeps the credentials of a remote URL out of its errors', async () => {
    const token = 'ghs_SuperSecretToken1234567890';
    const port = await freePort();
    const workDir = join(await tempDir('metadata-work'), 'clone');
    cleanups.push(() => rm(join(workDir, '..'), { recursive: true, force: true }));
    await assert.rejects(openMetadataRepo({ location: `http://x-access-token:${token}@127.0.0.1:${port}/meta.git`, workDir, signal: UNINTERRUPTED }), (e: unknown) => {
      assert.ok(isGcrsyncError(e, 'GIT'), String(e));
      assert.ok(!e.message.includes(token), e.message);
      assert.ok(!String(e.stack).includes(token));
      return true;
    });
  });

  it('refuses file paths outside the layout and symbolic links out of the repo', async () => {
    const remote = await remoteFor();
    const outside = await tempDir('metadata-outside');
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    await writeFile(join(outside, 'x.json'), '[]');
    const seed = await cloneWithIdentity(remote.url);
    await mkdir(join(seed.dir, 'metadata'));
    await symlink(outside, join(seed.dir, 'metadata', 'evil.io'));
    await git(seed.dir, 'add', 'metadata');
    await git(seed.dir, 'commit', '--quiet', '-m', 'a symlink');
    await git(seed.dir, 'push', '--quiet', 'origin', 'HEAD:main');
    await seed.cleanup();

    const repo = await open(remote);
    const bad = (e: unknown) => isGcrsyncError(e, 'BAD_REFERENCE');
    for (const file of ['../x.json', 'metadata/gcr.io/../../x.json', '/etc/passwd', 'CHANGELOG.md']) await assert.rejects(repo.read(file, UNINTERRUPTED), bad);
    await assert.rejects(repo.read('metadata/evil.io/x.json', UNINTERRUPTED), bad);
    await assert.rejects(repo.commit({ changes: [put('metadata/evil.io/x.json', [['a', 'v1', 1]])], message: 'x', signal: UNINTERRUPTED }), bad);
    assert.equal(await readFile(join(outside, 'x.json'), 'utf8'), '[]');
    assert.throws(() => repo.metadataFile('gcr.io', '../../etc'), bad);
  });

  it('works in place in an existing checkout: its own identity, only its own files, rebased over a concurrent push', async () => {
    const remote = await remoteFor();
    const checkout = await cloneWithIdentity(remote.url);
    cleanups.push(() => checkout.cleanup());
    // the user's unrelated work must survive, uncommitted
    await writeFile(join(checkout.dir, 'README.md'), '# edited, not committed\n');
    await writeFile(join(checkout.dir, 'notes.txt'), 'untracked\n');
    const repo = await openMetadataRepo({ cwd: join(checkout.dir), retryDelayMs: 10, signal: UNINTERRUPTED });
    assert.equal(repo.path, checkout.dir);
    assert.equal(repo.branch, 'main');
    assert.equal(repo.hasRemote, true);

    await pushByHand(remote, { [FILE]: serializeMetadata(applyUpdates(undefined, header, [])) }, 'empty file by hand');
    await pushByHand(remote, { [QUAY_FILE]: '["etcd:v1"]' }, 'quay by hand');
    const result = await repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], changelogSection: section(1, 'gcr.io/google-containers/pause:3.1'), message: 'in place', signal: UNINTERRUPTED });
    assert.equal(result.attempts, 2);
    assert.equal(result.pushed, true);
    assert.equal(await remote.head(), result.commit);
    assert.equal(await git(remote.path, 'log', '-1', '--format=%an <%ae>', 'main'), `${TEST_IDENTITY.name} <${TEST_IDENTITY.email}>`);
    // the index pages are regenerated in the same commit, the quay namespace's page included
    assert.deepEqual((await git(remote.path, 'show', '--format=', '--name-only', 'main')).split('\n').sort(), [
      'CHANGELOG.md',
      'metadata/README.md',
      FILE,
      'metadata/gcr.io/google-containers.md',
      'metadata/quay.io/coreos.md',
    ].sort());
    assert.equal(await readFile(join(checkout.dir, 'README.md'), 'utf8'), '# edited, not committed\n');
    assert.equal(await readFile(join(checkout.dir, 'notes.txt'), 'utf8'), 'untracked\n');
    assert.deepEqual((await repo.listFiles(UNINTERRUPTED)).map((f) => f.file), [FILE, QUAY_FILE]);
  });

  it('refresh brings a clone up to the remote; listFiles and readAll see the new files', async () => {
    const remote = await remoteFor();
    const repo = await open(remote);
    await repo.refresh(UNINTERRUPTED);
    assert.deepEqual(await repo.readAll(UNINTERRUPTED), []);
    await pushByHand(remote, { [FILE]: '["pause:3.1"]', [QUAY_FILE]: '["etcd:v1"]', 'metadata/README.md': 'not metadata\n' });
    assert.equal(await repo.read(FILE, UNINTERRUPTED), undefined, 'not fetched yet');
    await repo.refresh(UNINTERRUPTED);
    assert.deepEqual(await repo.listFiles(UNINTERRUPTED), [
      { file: FILE, registry: 'gcr.io', namespace: 'google-containers' },
      { file: QUAY_FILE, registry: 'quay.io', namespace: 'coreos' },
    ]);
    const all = await repo.readAll(UNINTERRUPTED);
    assert.deepEqual(all.map((entry) => `${entry.file}:${listRecords(entry.metadata).length}`), [`${FILE}:1`, `${QUAY_FILE}:1`]);
  });

  it('stops when aborted, before changing anything', async () => {
    const remote = await remoteFor();
    const head = await remote.head();
    const repo = await open(remote);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(repo.commit({ changes: [put(FILE, [['pause', '3.1', 1]])], message: 'x', signal: controller.signal }), (e: unknown) =>
      isGcrsyncError(e, 'ABORTED'),
    );
    assert.equal(await remote.head(), head);
  });
});
