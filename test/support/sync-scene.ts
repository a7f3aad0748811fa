import { gcrFront, type GcrFront, type GcrFrontOptions } from './gcr-front.js';
import type { RegistryEndpoint } from './images.js';
import { startRegistry, type RegistryOptions, type TestRegistry } from './registry.js';

/**
 * The world of an end-to-end sync: a gcr.io-like source (a real registry behind a gcr front) and a real target
 * registry. The images are pushed before the front starts, so a caching front lists them all.
 */
export interface SyncScene {
  /** the auth-less registry behind the source, where tests push and check digests */
  upstream: TestRegistry;
  /** what gcrsync lists and pulls from */
  source: GcrFront;
  target: TestRegistry;
  stop(): Promise<void>;
}

export interface SyncSceneOptions {
  /** pushes the source's images */
  push(upstream: RegistryEndpoint): Promise<unknown>;
  target?: RegistryOptions;
  front?: GcrFrontOptions;
}

export async function startSyncScene(options: SyncSceneOptions): Promise<SyncScene> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const upstream = await startRegistry();
    started.push(upstream);
    const target = await startRegistry(options.target);
    started.push(target);
    await options.push({ url: upstream.url });
    const source = await gcrFront({ url: upstream.url }, options.front);
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
