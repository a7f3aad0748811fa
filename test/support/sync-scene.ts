import { gcrFront, type GcrFront, type GcrFrontOptions } from './gcr-front.js';
import type { RegistryEndpoint } from './images.js';
import { startRegistry, type RegistryOptions, type TestRegistry } from './registry.js';

/**
 * The world of an end-to-end sync: a gcr.io-like source (a real registry behind a gcr front) and a real target
 * registry. The images are pushed before the front starts, so a caching front lists them all.
 */
interface SyncScene {
  /** the auth-less registry behind the source, where tests push and check digests */
  upstream: TestRegistry;
  /** what gcrsync lists and pulls from */
  source: GcrFront;
  target: TestRegistry;
  stop(): Promise<void>;
}

/** The running scene, as the tests of one describe block see it. */
export type SyncSceneView = Omit<SyncScene, 'stop'>;

export interface SyncSceneOptions {
  /** pushes the source's images */
  push(upstream: RegistryEndpoint): Promise<unknown>;
  target?: RegistryOptions;
  /** the source's registry (schema1, layer urls) */
  upstream?: RegistryOptions;
  front?: GcrFrontOptions;
  /** repositories whose OCI 1.1 referrers the source serves through the referrers API, `pageSize` a page */
  referrersApi?: { repositories: string[]; pageSize?: number };
}

async function startSyncScene(options: SyncSceneOptions): Promise<SyncScene> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const upstream = await startRegistry(options.upstream);
    started.push(upstream);
    const target = await startRegistry(options.target);
    started.push(target);
    await options.push({ url: upstream.url });
    const source = await gcrFront({ url: upstream.url }, {
      ...options.front,
      ...(options.referrersApi !== undefined && { referrers: { storageDir: upstream.storageDir, ...options.referrersApi } }),
    });
    return {
      upstream,
      source,
      target,
      stop: async () => {
        await source.stop();
        await upstream.stop();
        await target.stop();
      },
    };
  } catch (error) {
    // a half-built scene would otherwise run until the root hooks stop everything
    for (const item of started) await item.stop();
    throw error;
  }
}

/**
 * Starts the scene in a `before` hook of the calling describe block and stops it in an `after` hook. The view
 * reads the running scene, so it is for the block's hooks and tests, not for code that runs at definition time.
 */
export function useSyncScene(options: SyncSceneOptions): SyncSceneView {
  let scene: SyncScene | undefined;
  before(async () => {
    scene = await startSyncScene(options);
  });
  after(() => scene?.stop());
  const running = (): SyncScene => {
    if (scene === undefined) throw new Error('the sync scene is not running: use it in hooks and tests');
    return scene;
  };
  return {
    get upstream() {
      return running().upstream;
    },
    get source() {
      return running().source;
    },
    get target() {
      return running().target;
    },
  };
}
