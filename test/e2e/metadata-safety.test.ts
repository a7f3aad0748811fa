import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { git, TEST_IDENTITY } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

/**
 * With no --metadata-repo, gcrsync writes into the git repository around the working directory only when that is a
 * metadata repo (a metadata/ directory, or the marker `gcrsync init` commits): never into an unrelated project.
 */
describe('the metadata repo by default (CLI, end to end)', function () {
  this.timeout(120_000);
  const scene = useSyncScene({ push: (upstream) => pushTestImage(upstream, 'ns/pause', '3.1') });
  const sync = (cwd: string, prefix: string) => runCli(['sync', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/${prefix}`], { cwd });

  async function project(): Promise<string> {
    const dir = await tempDir('project');
    await git(dir, 'init', '--quiet', '--initial-branch=feature');
    await writeFile(join(dir, 'main.go'), 'package main\n');
    await git(dir, 'add', 'main.go');
    await git(dir, '-c', `user.name=${TEST_IDENTITY.name}`, '-c', `user.email=${TEST_IDENTITY.email}`, 'commit', '--quiet', '-m', 'work');
    return dir;
  }

  it('refuses an unrelated repository with exit 2 naming --metadata-repo, and commits nothing there', async () => {
    const dir = await project();
    const head = await git(dir, 'rev-parse', 'HEAD');
    const result = await sync(dir, 'refused');
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /is not a metadata repo/);
    assert.match(result.stderr, /--metadata-repo/);
    assert.match(result.stderr, /gcrsync init/);
    assert.equal(await git(dir, 'rev-parse', 'HEAD'), head, 'no commit in the project');
    assert.equal(await headDigest(scene.target, 'refused/pause', '3.1'), undefined, 'nothing copied');
  });

  it('gcrsync init marks a repository (making one where there is none); sync then records into it in place', async () => {
    const dir = join(await tempDir('init'), 'mirror-metadata');
    const init = await runCli(['init', dir]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(await readFile(join(dir, '.gcrsync-metadata'), 'utf8'), /gcrsync metadata/);
    assert.match(await git(dir, 'log', '--format=%s'), /gcrsync init/);
    const again = await runCli(['init'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already is a metadata repo/);

    const result = await sync(dir, 'in-place');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(await git(dir, 'show', `HEAD:metadata/${scene.source.host.replace(':', '_')}/ns.json`));
    assert.equal(json.images.pause['3.1'].target, `${scene.target.host}/in-place/pause:3.1`);

    // in an existing project, init adds only the marker commit to the branch checked out
    const project2 = await project();
    const marked = await runCli(['init'], { cwd: project2 });
    assert.equal(marked.code, 0, marked.stderr);
    assert.equal((await git(project2, 'log', '--format=%s')).split('\n').length, 2, 'init added one commit to the existing branch');
  });
});
