import assert from 'node:assert/strict';
import type { BareRemote } from './git.js';
import { headDigest, pushTestImage } from './images.js';
import { useSyncScene, type SyncSceneView } from './sync-scene.js';

/** Two images, one nested: enough to see an installed gcrsync (npm package, container image) really sync. */
const IMAGES = [
  ['ns/app', 'v1'],
  ['ns/sub/tool', '1.0'],
] as const;

export interface InstallScene extends SyncSceneView {
  /** the `--source` the installed gcrsync syncs */
  readonly sourceNamespace: string;
  /** checks that `prefix` at the target holds both images with the source's digests, recorded in `remote`'s metadata */
  assertMirrored(prefix: string, remote: BareRemote): Promise<void>;
}

/** The sync scene of the install tests, started and stopped by the calling describe block. */
export function useInstallScene(): InstallScene {
  const scene = useSyncScene({
    push: async (upstream) => {
      for (const [repo, tag] of IMAGES) await pushTestImage(upstream, repo, tag);
    },
  });
  return {
    get upstream() {
      return scene.upstream;
    },
    get source() {
      return scene.source;
    },
    get target() {
      return scene.target;
    },
    get sourceNamespace() {
      return `${scene.source.host}/ns`;
    },
    async assertMirrored(prefix: string, remote: BareRemote) {
      for (const [repo, tag] of IMAGES) {
        const mirrored = `${prefix}/${repo.slice('ns/'.length)}`;
        assert.equal(await headDigest(scene.target, mirrored, tag), await headDigest(scene.upstream, repo, tag), `${mirrored}:${tag}`);
      }
      const metadata = JSON.parse(await remote.show(`metadata/${scene.source.host.replace(':', '_')}/ns.json`));
      assert.deepEqual(Object.keys(metadata.images), ['app', 'sub/tool']);
    },
  };
}
