import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli.js';
import { bareRemote, git, type BareRemote } from '../support/git.js';
import { headDigest, pushTestImage } from '../support/images.js';
import { useSyncScene } from '../support/sync-scene.js';
import { tempDir } from '../support/temp.js';

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

/** The built CLI with `input` on its stdin. */
function runWithStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * What the people who pull from the mirror see, through the built CLI: a real sync into a bare metadata remote,
 * then the generated pages, `where`, `list` and `rewrite` against that remote's URL.
 */
describe('browse and find (CLI, end to end)', function () {
  this.timeout(180_000);
  let remote: BareRemote;
  let work: string;
  const images = [
    ['ns/pause', '3.1'],
    ['ns/pause', '3.2'],
    ['ns/sub/app', 'v1'],
  ] as const;
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of images) await pushTestImage(upstream, repo, tag);
    },
  });
  const nsFile = () => `metadata/${scene.source.host.replace(':', '_')}/ns`;

  before(async () => {
    remote = await bareRemote();
    work = await tempDir('browse-e2e');
    const synced = await runCli(['sync', '--source', `${scene.source.host}/ns`, '--target', `${scene.target.host}/mirror`, '--metadata-repo', remote.url, '--transport', 'registry']);
    assert.equal(synced.code, 0, synced.stderr);
  });
  after(async () => {
    await remote?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sync committed readable pages with the JSON: overview, namespace page with every tag and its pull line', async () => {
    const changed = (await git(remote.path, 'show', '--format=', '--name-only', 'main')).split('\n').sort();
    assert.deepEqual(changed.filter((file) => !file.startsWith('site/')), ['CHANGELOG.md', 'metadata/README.md', `${nsFile()}.json`, `${nsFile()}.md`].sort());
    // and the catalog, with a page per repository (its content is the site tests' business)
    const site = `site/r/${nsFile().slice('metadata/'.length)}/-/`;
    for (const page of ['site/index.html', `${site}_index.html`, `${site}pause.html`, `${site}sub/app.html`]) assert.ok(changed.includes(page), `${page} committed`);
    const overview = await remote.show('metadata/README.md');
    assert.match(overview, /1 namespace, 2 repositories, 3 tags\. Last sync: \d{4}-\d\d-\d\d \d\d:\d\d UTC\./);
    assert.ok(overview.includes(`| [${scene.source.host}/ns](${scene.source.host.replace(':', '_')}/ns.md) | \`${scene.target.host}/mirror\` | 2 | 3 |`), overview);
    const page = await remote.show(`${nsFile()}.md`);
    for (const [repo, tag] of images) {
      const mirror = `${scene.target.host}/mirror/${repo.slice('ns/'.length)}:${tag}`;
      assert.ok(page.includes(`| \`${tag}\` | \`sha256:`), `${repo}:${tag} has a row`);
      assert.ok(page.includes(`\`docker pull ${mirror}\``), `pull line for ${mirror}`);
    }
    // tags newest first
    assert.ok(page.indexOf('| `3.2` |') < page.indexOf('| `3.1` |'));
  });

  it('where prints the mirror reference, which really is at the target with the source digest', async () => {
    const result = await runCli(['where', `${scene.source.host}/ns/sub/app:v1`, '--metadata-repo', remote.url]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${scene.target.host}/mirror/sub/app:v1\n`);
    assert.equal(await headDigest(scene.target, 'mirror/sub/app', 'v1'), await headDigest(scene.upstream, 'ns/sub/app', 'v1'));
  });

  it('where exits 1 for an image that is not mirrored, and 2 for a malformed one', async () => {
    const missing = await runCli(['where', `${scene.source.host}/ns/pause:9.9`, '--metadata-repo', remote.url]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /pause:9\.9 is not mirrored: the repository is mirrored, but not that tag/);
    const bad = await runCli(['where', 'gcr.io/Bad_Name:1', '--metadata-repo', remote.url]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /BAD_REFERENCE/);
  });

  it('list --json prints every match; GCRSYNC_METADATA_REPO names the repo too', async () => {
    const result = await runCli(['list', 'pause', '--json'], { env: { GCRSYNC_METADATA_REPO: remote.url } });
    assert.equal(result.code, 0, result.stderr);
    const matches = JSON.parse(result.stdout);
    assert.deepEqual(
      matches.map((m: { source: string; mirror: string }) => [m.source, m.mirror]),
      [
        [`${scene.source.host}/ns/pause:3.1`, `${scene.target.host}/mirror/pause:3.1`],
        [`${scene.source.host}/ns/pause:3.2`, `${scene.target.host}/mirror/pause:3.2`],
      ],
    );
    assert.equal(matches[0].digest, await headDigest(scene.upstream, 'ns/pause', '3.1'));
    const none = await runCli(['list', 'nothing-here', '--metadata-repo', remote.url]);
    assert.equal(none.code, 1);
  });

  it('rewrite prints the manifest with mirrored images replaced; --check lists the rest and exits 1; --in-place writes the file', async () => {
    const manifest = [
      '# a Deployment from the docs',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web}',
      'spec:',
      '  template:',
      '    spec:',
      '      initContainers:',
      `      - {name: init, image: "${scene.source.host}/ns/pause:3.2"}`,
      '      containers:',
      '      - name: app',
      `        image: ${scene.source.host}/ns/sub/app:v1   # the app`,
      '      - name: sidecar',
      `        image: ${scene.source.host}/ns/pause:0.1`,
      '',
    ].join('\n');
    const file = join(work, 'deployment.yaml');
    await writeFile(file, manifest);

    const printed = await runCli(['rewrite', file, '--metadata-repo', remote.url]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(
      printed.stdout,
      manifest
        .replace(`"${scene.source.host}/ns/pause:3.2"`, `"${scene.target.host}/mirror/pause:3.2"`)
        .replace(`${scene.source.host}/ns/sub/app:v1   #`, `${scene.target.host}/mirror/sub/app:v1   #`),
    );
    assert.match(printed.stderr, /deployment\.yaml:14: Deployment\/web containers\[sidecar\]: .*pause:0\.1 is not mirrored/);
    assert.equal(parseAllDocuments(printed.stdout).length, 1);

    const checked = await runCli(['rewrite', file, '--check', '--metadata-repo', remote.url]);
    assert.equal(checked.code, 1);
    assert.equal(checked.stdout, `${file}:14: Deployment/web containers[sidecar]: ${scene.source.host}/ns/pause:0.1 is not mirrored (the repository is mirrored, but not that tag)\n`);

    const inPlace = await runCli(['rewrite', file, '--in-place', '--metadata-repo', remote.url]);
    assert.equal(inPlace.code, 0, inPlace.stderr);
    assert.equal(inPlace.stdout, '');
    assert.equal(await readFile(file, 'utf8'), printed.stdout);

    // stdin, as in `helm template … | gcrsync rewrite -`
    for (const args of [['rewrite', '-'], ['rewrite']]) {
      const piped = await runWithStdin([...args, '--metadata-repo', remote.url], manifest);
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stdout, printed.stdout);
      assert.match(piped.stderr, /<stdin>:14: /);
    }

    const bad = join(work, 'bad.yaml');
    await writeFile(bad, 'kind: Pod\nspec: [\n');
    const invalid = await runCli(['rewrite', bad, '--metadata-repo', remote.url]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /bad\.yaml:\d+:\d+: not valid YAML/);
  });
});
