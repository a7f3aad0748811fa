import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { buildImage, runContainer } from '../support/containers.js';
import { importDebianBase } from '../support/debian-base.js';
import { startDockerd } from '../support/dockerd.js';
import { bareRemote } from '../support/git.js';
import { packTarball, repositoryRoot } from '../support/package.js';
import { useInstallScene } from '../support/install-scene.js';
import { tempDir } from '../support/temp.js';

const execFileAsync = promisify(execFile);
const TAG = 'gcrsync-test:latest';
const USER = '10001';
const { version } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { version: string };

/**
 * The repository's Dockerfile, built the way its header says (the `npm pack` tarball as the only context file)
 * on the test dockerd. No image can be pulled here, so BASE is a stand-in for node:20-bookworm-slim made with
 * debootstrap (test/support/debian-base.ts, cached between runs); the build itself reaches Debian's mirror and
 * the npm registry over the host network, as a build anywhere does.
 */
describe('container image (Dockerfile, built on a debootstrap base)', function () {
  this.timeout(300_000);
  const scene = useInstallScene();
  let docker: Docker;

  before(async function () {
    // a cold cache runs debootstrap (about a minute) before the build
    this.timeout(900_000);
    docker = (await startDockerd()).docker;
    const tarball = await packTarball();
    const started = Date.now();
    const base = await importDebianBase(docker);
    const context = await tempDir('docker-context');
    try {
      // the context `docker build .` sends from a clone after `npm pack` (.dockerignore keeps only the tarball)
      await copyFile(join(repositoryRoot, 'Dockerfile'), join(context, 'Dockerfile'));
      await copyFile(tarball, join(context, basename(tarball)));
      await buildImage(docker, context, ['Dockerfile', basename(tarball)], TAG, { BASE: base.image });
    } finally {
      await rm(context, { recursive: true, force: true });
    }
    console.log(`      base ${base.built ? 'built with debootstrap' : 'from the cache'}, image built: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });

  it('runs gcrsync as a non-root user: --version, git and CA certificates there, no optional dependencies', async () => {
    const info = await docker.getImage(TAG).inspect();
    assert.equal(info.Config.User, `${USER}:${USER}`);
    assert.deepEqual(info.Config.Entrypoint, ['gcrsync']);
    console.log(`      image: ${(info.Size / 1024 / 1024).toFixed(0)} MB`);

    const printed = await runContainer(docker, TAG, ['--version']);
    assert.equal(printed.code, 0, printed.output);
    assert.equal(printed.output.trim(), version);

    const modules = '/opt/gcrsync/node_modules';
    const probe = await runContainer(docker, TAG, ['-c', `id -u; git --version; test -s /etc/ssl/certs/ca-certificates.crt && echo certificates; test -e ${modules}/dockerode || echo no-dockerode`], {
      entrypoint: ['/bin/sh'],
    });
    assert.equal(probe.code, 0, probe.output);
    assert.match(probe.output, new RegExp(`^${USER}\\r?\\ngit version \\S+\\r?\\ncertificates\\r?\\nno-dockerode\\r?\\n$`));
  });

  it('syncs the local registries from the container over the host network, committing as its user', async () => {
    const remote = await bareRemote();
    const remoteDir = dirname(remote.path);
    const reportDir = await tempDir('container-report');
    const reportFile = join(reportDir, 'report.json');
    // the container's user owns what it writes to: the metadata remote (file://) and the report's directory
    await execFileAsync('chown', ['-R', `${USER}:${USER}`, remoteDir, reportDir]);
    try {
      const args = ['sync', '--source', scene.sourceNamespace, '--target', `${scene.target.host}/boxed`, '--metadata-repo', remote.url, '--report', reportFile];
      const run = await runContainer(docker, TAG, args, { binds: [`${remoteDir}:${remoteDir}`, `${reportDir}:${reportDir}`] });
      assert.equal(run.code, 0, run.output);
      assert.equal((await stat(reportFile)).uid, Number(USER), 'written by the image user');
      const report = JSON.parse(await readFile(reportFile, 'utf8')) as { outcomes: Array<{ status: string }> };
      assert.deepEqual(report.outcomes.map((o) => o.status), ['synced', 'synced']);
    } finally {
      // git refuses repositories another user owns: give them back before reading them here
      await execFileAsync('chown', ['-R', '0:0', remoteDir, reportDir]);
    }
    await scene.assertMirrored('boxed', remote);
    await rm(reportDir, { recursive: true, force: true });
    await remote.cleanup();
  });
});
