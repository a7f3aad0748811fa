import assert from 'node:assert/strict';
import type { Credentials } from '../../src/auth/credentials.js';
import type { Keychain } from '../../src/auth/keychain.js';
import { GcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { parseReference } from '../../src/ref/reference.js';
import { createDockerTransport } from '../../src/transports/docker.js';
import type { Transport } from '../../src/transports/transport.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { headDigest, MEDIA_TYPES, pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

/** Answers from a fixed table, so each test controls exactly which registry gets which credentials. */
function staticKeychain(table: Record<string, Credentials>): Keychain & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolve: async (registry: string) => {
      asked.push(registry);
      return table[registry];
    },
  };
}

describe('docker transport (real dockerd, two real registries)', function () {
  this.timeout(120_000);
  let dockerd: TestDockerd;
  let source: TestRegistry;
  let target: TestRegistry;
  let transport: Transport;
  let keychain: ReturnType<typeof staticKeychain>;

  before(async () => {
    [dockerd, source, target] = await Promise.all([startDockerd(), startRegistry({ auth: 'htpasswd' }), startRegistry({ auth: 'token' })]);
    keychain = staticKeychain({ [source.host]: source.credentials!, [target.host]: target.credentials! });
    transport = createDockerTransport({ docker: dockerd.docker, keychain });
  });
  after(async () => {
    await transport.close();
    await Promise.all([source.stop(), target.stop()]);
  });

  const localTags = async (): Promise<string[]> =>
    (await dockerd.docker.listImages()).flatMap((image) => image.RepoTags ?? []).filter((t) => t.includes(source.host) || t.includes(target.host));

  it('copies an image from an authenticated registry and reports the digest the target has', async () => {
    const pushed = await pushTestImage(source, 'dt/app', 'v1', { sharedLayer: 'dt-base', layerBytes: 2048 });
    const result = await transport.copy({
      source: parseReference(`${source.host}/dt/app:v1`),
      sourceDigest: pushed.digest,
      sourceMediaType: pushed.mediaType,
      target: parseReference(`${target.host}/mirror/dt-app:v1`),
    }, UNINTERRUPTED);
    assert.equal(await headDigest(target, 'mirror/dt-app', 'v1'), result.targetDigest);
    assert.deepEqual(result.platforms, ['linux/amd64']);
    assert.equal(result.digestPreserved, result.targetDigest === pushed.digest);
    assert.ok(result.bytesUploaded > 0);
    assert.deepEqual(result.warnings, []);
    assert.ok(keychain.asked.includes(source.host), 'credentials were looked up for the source registry');
    assert.deepEqual(await localTags(), [], 'local tags are removed after the copy');
  });

  it('fails without the source credentials, with DOCKER naming the image', async () => {
    const pushed = await pushTestImage(source, 'dt/private', 'v1');
    const anonymous = createDockerTransport({ docker: dockerd.docker, keychain: staticKeychain({}) });
    await assert.rejects(
      anonymous.copy({
        source: parseReference(`${source.host}/dt/private:v1`),
        sourceDigest: pushed.digest,
        target: parseReference(`${target.host}/mirror/dt-private:v1`),
      }, UNINTERRUPTED),
      (error: unknown) => error instanceof GcrsyncError && error.code === 'DOCKER' && error.message.includes(`${source.host}/dt/private:v1`),
    );
    assert.equal(await headDigest(target, 'mirror/dt-private', 'v1'), undefined);
  });

  it('fails a missing source tag with DOCKER naming the image and the daemon message', async () => {
    await pushTestImage(source, 'dt/exists', 'v1');
    const missing = `${source.host}/dt/exists:no-such-tag`;
    await assert.rejects(
      transport.copy({
        source: parseReference(missing),
        sourceDigest: 'sha256:' + '0'.repeat(64),
        target: parseReference(`${target.host}/mirror/dt-missing:v1`),
      }, UNINTERRUPTED),
      (error: unknown) => {
        assert.ok(error instanceof GcrsyncError);
        assert.equal(error.code, 'DOCKER');
        assert.match(error.message, new RegExp(`docker pull ${missing.replace(/[.:/]/g, '\\$&')} failed: .*(not found|unknown)`, 'i'));
        assert.doesNotMatch(error.message, /secret-pass/);
        return true;
      },
    );
    assert.equal(await headDigest(target, 'mirror/dt-missing', 'v1'), undefined);
  });

  it('copies one platform of an index and warns that the others were dropped', async () => {
    const pushed = await pushTestImage(source, 'dt/multi', 'v1', { platforms: ['linux/amd64', 'linux/arm64'], format: 'oci' });
    const result = await transport.copy({
      source: parseReference(`${source.host}/dt/multi:v1`),
      sourceDigest: pushed.digest,
      sourceMediaType: MEDIA_TYPES.ociIndex,
      target: parseReference(`${target.host}/mirror/dt-multi:v1`),
    }, UNINTERRUPTED);
    assert.deepEqual(result.platforms, ['linux/amd64']);
    assert.equal(result.digestPreserved, false);
    assert.ok(result.warnings.includes('source is a multi-platform index; the daemon copied only linux/amd64'), result.warnings.join('\n'));
    assert.equal(await headDigest(target, 'mirror/dt-multi', 'v1'), result.targetDigest);
    assert.notEqual(result.targetDigest, pushed.digest);
  });

  it('fails a push the registry refuses inside the progress stream, and cleans up local tags', async () => {
    const pushed = await pushTestImage(source, 'dt/refused', 'v1');
    target.tokenServer!.deny.add('repository:mirror/dt-refused:push');
    const destination = `${target.host}/mirror/dt-refused:v1`;
    await assert.rejects(
      transport.copy({ source: parseReference(`${source.host}/dt/refused:v1`), sourceDigest: pushed.digest, target: parseReference(destination) }, UNINTERRUPTED),
      (error: unknown) => {
        assert.ok(error instanceof GcrsyncError);
        assert.equal(error.code, 'DOCKER');
        assert.match(error.message, new RegExp(`^docker push ${destination.replace(/[.:/]/g, '\\$&')} failed: .*denied`));
        return true;
      },
    );
    assert.equal(await headDigest(target, 'mirror/dt-refused', 'v1'), undefined);
    assert.deepEqual(await localTags(), []);
  });

  it('stops before pulling when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      transport.copy(
        { source: parseReference(`${source.host}/dt/app:v1`), sourceDigest: 'sha256:' + '1'.repeat(64), target: parseReference(`${target.host}/mirror/dt-aborted:v1`) },
        controller.signal,
      ),
      (error: unknown) => error instanceof GcrsyncError && error.code === 'ABORTED',
    );
    assert.equal(await headDigest(target, 'mirror/dt-aborted', 'v1'), undefined);
  });
});
