import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { openMetadataRepo } from '../../src/store/metadata-repo.js';
import { applyUpdates } from '../../src/store/schema.js';
import { runCli } from '../support/cli.js';
import { startDockerd } from '../support/dockerd.js';
import { bareRemote, type BareRemote } from '../support/git.js';
import { getManifest, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';
import { UNINTERRUPTED } from '../../src/errors.js';

/**
 * `gcrsync pull` with a real Docker daemon: the metadata says `registry.k8s.io/pause:3.9` (and Docker Hub's
 * `nginx`) are mirrored in a password-protected local registry; pulling must leave the daemon with the image
 * under its ORIGINAL name, without ever contacting registry.k8s.io or Docker Hub.
 */
describe('gcrsync pull (CLI, real dockerd)', function () {
  this.timeout(180_000);
  let mirror: TestRegistry;
  let remote: BareRemote;
  let docker: Docker;
  let dockerHost: string;
  let dockerConfig: string;
  let pauseDigest: string;
  const originals = ['registry.k8s.io/pause:3.9', 'nginx:latest'];

  before(async () => {
    const daemon = await startDockerd();
    docker = daemon.docker;
    dockerHost = `unix://${daemon.socketPath}`;
    mirror = await startRegistry({ auth: 'htpasswd' });
    pauseDigest = (await pushTestImage(mirror, 'k8s/pause', '3.9')).digest;
    const nginxDigest = (await pushTestImage(mirror, 'hub/nginx', 'latest')).digest;

    remote = await bareRemote();
    const repo = await openMetadataRepo({ location: remote.url, signal: UNINTERRUPTED });
    const syncedAt = new Date().toISOString();
    await repo.commit({
      changes: [
        {
          file: 'metadata/registry.k8s.io/_root.json',
          update: (current) =>
            applyUpdates(current, { source: 'registry.k8s.io', target: `${mirror.host}/k8s` }, [
              { repository: 'pause', tag: '3.9', record: { digest: pauseDigest, target: `${mirror.host}/k8s/pause:3.9`, syncedAt, platforms: ['linux/amd64'] } },
            ]),
        },
        {
          file: 'metadata/docker.io/library.json',
          update: (current) =>
            applyUpdates(current, { source: 'docker.io/library', target: `${mirror.host}/hub` }, [
              { repository: 'nginx', tag: 'latest', record: { digest: nginxDigest, target: `${mirror.host}/hub/nginx:latest`, syncedAt } },
            ]),
        },
      ],
      message: 'seed',
      signal: UNINTERRUPTED,
    });
    await repo.close();

    // the mirror's password comes from the Docker config, as after `docker login`
    dockerConfig = await tempDir('docker-config');
    const auth = Buffer.from(`${mirror.credentials!.username}:${mirror.credentials!.password}`).toString('base64');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [mirror.host]: { auth } } }));
  });

  after(async () => {
    await removeLocal();
    await mirror?.stop();
    await remote?.cleanup();
    if (dockerConfig) await rm(dockerConfig, { recursive: true, force: true });
  });

  async function removeLocal(): Promise<void> {
    for (const name of [...originals, `${mirror.host}/k8s/pause:3.9`, `${mirror.host}/hub/nginx:latest`]) {
      await docker
        ?.getImage(name)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }

  const env = () => ({ DOCKER_HOST: dockerHost, DOCKER_CONFIG: dockerConfig });
  const localTags = async (name: string) => (await docker.getImage(name).inspect()).RepoTags;

  it('pulls the mirror and leaves the image under the name the manifests use', async () => {
    await removeLocal();
    const result = await runCli(['pull', 'registry.k8s.io/pause:3.9', 'nginx', '--metadata-repo', remote.url], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const pause = await docker.getImage('registry.k8s.io/pause:3.9').inspect();
    assert.deepEqual(pause.RepoTags, ['registry.k8s.io/pause:3.9'], 'the mirror name was dropped again');
    // the daemon's image id is the digest of the config blob the mirror serves
    const manifest = (await getManifest(mirror, 'k8s/pause', '3.9')).json as { config: { digest: string } };
    assert.equal(pause.Id, manifest.config.digest);
    assert.deepEqual(await localTags('nginx:latest'), ['nginx:latest']);
    assert.equal(
      result.stdout,
      `registry.k8s.io/pause:3.9 <- ${mirror.host}/k8s/pause:3.9 (${pause.Id})\n` +
        `docker.io/library/nginx:latest <- ${mirror.host}/hub/nginx:latest (${(await docker.getImage('nginx:latest').inspect()).Id})\n`,
    );
  });

  it('pulls a pinned image by digest and tags it with its tag', async () => {
    await removeLocal();
    const result = await runCli(['pull', `registry.k8s.io/pause:3.9@${pauseDigest}`, '--metadata-repo', remote.url, '--json'], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const [answer] = JSON.parse(result.stdout);
    assert.equal(answer.mirror, `${mirror.host}/k8s/pause:3.9@${pauseDigest}`);
    assert.equal(answer.pulled, true);
    assert.deepEqual(await localTags('registry.k8s.io/pause:3.9'), ['registry.k8s.io/pause:3.9']);
  });

  it('exits 1 for an image that is not mirrored and still pulls the others; a failing daemon pull is reported', async () => {
    await removeLocal();
    const result = await runCli(['pull', 'registry.k8s.io/pause:3.8', 'registry.k8s.io/pause:3.9', '--metadata-repo', remote.url], { env: env() });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /registry\.k8s\.io\/pause:3\.8 is not mirrored/);
    assert.deepEqual(await localTags('registry.k8s.io/pause:3.9'), ['registry.k8s.io/pause:3.9']);

    await removeLocal();
    // without the Docker config the mirror refuses the daemon: an error naming the image, no secret in it
    const denied = await runCli(['pull', 'registry.k8s.io/pause:3.9', '--metadata-repo', remote.url], { env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: join(dockerConfig, 'none') } });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, new RegExp(`DOCKER: docker pull ${mirror.host.replace('.', '\\.')}/k8s/pause:3\\.9 failed`));
    assert.doesNotMatch(denied.stderr, new RegExp(mirror.credentials!.password));
    await assert.rejects(docker.getImage('registry.k8s.io/pause:3.9').inspect());
  });

  it('--print prints the commands for docker, ctr and crictl without touching the daemon', async () => {
    await removeLocal();
    const base = ['pull', 'registry.k8s.io/pause:3.9', '--print', '--metadata-repo', remote.url];
    const dockerLines = await runCli(base, { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    assert.equal(dockerLines.code, 0, dockerLines.stderr);
    assert.equal(
      dockerLines.stdout,
      `docker pull ${mirror.host}/k8s/pause:3.9\ndocker tag ${mirror.host}/k8s/pause:3.9 registry.k8s.io/pause:3.9\ndocker rmi ${mirror.host}/k8s/pause:3.9\n`,
    );
    // the mirror is on loopback, so it speaks plain HTTP: ctr refuses it without --plain-http
    const ctr = await runCli([...base, '--runtime', 'ctr']);
    assert.match(ctr.stdout, new RegExp(`^ctr -n k8s\\.io images pull --plain-http ${mirror.host}/k8s/pause:3\\.9\\n`));
    const arm = await runCli([...base, '--runtime', 'ctr', '--platform', 'linux/arm64']);
    assert.match(arm.stdout, new RegExp(`^ctr -n k8s\\.io images pull --plain-http --platform linux/arm64 ${mirror.host}/k8s/pause:3\\.9\\n`));
    const dockerArm = await runCli([...base, '--platform', 'linux/arm64']);
    assert.match(dockerArm.stdout, new RegExp(`^docker pull --platform linux/arm64 ${mirror.host}/k8s/pause:3\\.9\\n`));
    const crictl = await runCli([...base, '--runtime', 'crictl']);
    assert.match(crictl.stdout, /^crictl pull .*\nctr -n k8s\.io images tag --force .* registry\.k8s\.io\/pause:3\.9\n/);
    const notPrinted = await runCli(['pull', 'registry.k8s.io/pause:3.9', '--runtime', 'ctr', '--metadata-repo', remote.url]);
    assert.equal(notPrinted.code, 2);
    assert.match(notPrinted.stderr, /add --print/);
    await assert.rejects(docker.getImage('registry.k8s.io/pause:3.9').inspect(), 'nothing was pulled');
  });
});
