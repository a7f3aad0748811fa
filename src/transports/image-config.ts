import { GcrsyncError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, retrying } from '../http/retry.js';
import type { Logger } from '../log.js';
import type { RegistryClient, RepositoryRef } from '../registry/client.js';
import { DOCKER_CONFIG, OCI_CONFIG } from '../registry/media-types.js';
import type { Descriptor, Platform } from '../registry/schemas.js';
import { configPlatform } from './platform-filter.js';

// Image configs are small JSON documents; refuse to buffer anything claiming to be bigger.
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const IMAGE_CONFIG_TYPES = new Set([DOCKER_CONFIG, OCI_CONFIG]);
const CONFIG_READ_RETRIES = 3;

export interface ImageConfig {
  bytes: Buffer;
  /** the platform it names, when it names one */
  platform?: Platform;
}

/** An image config small enough to read whole (other config types name no platform). */
export function isReadableConfig(config: Descriptor): boolean {
  return IMAGE_CONFIG_TYPES.has(config.mediaType) && config.size <= MAX_CONFIG_BYTES;
}

export interface ConfigReader {
  /** An image config's bytes and platform; undefined for configs that are not readable image configs. */
  read(repo: RepositoryRef, config: Descriptor, signal: AbortSignal): Promise<ImageConfig | undefined>;
  /** The platform of an image config: remembered from an earlier read in this run, else read from `repo`. */
  platformOf(repo: RepositoryRef, config: Descriptor, signal: AbortSignal): Promise<Platform | undefined>;
}

async function readAll(body: NodeJS.ReadableStream, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const part = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += part.length;
    if (total > limit) throw new GcrsyncError('HOSTILE_RESPONSE', `${what} is larger than ${limit} bytes`, { ref: what });
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Reads image configs for the platform they name, once per config digest per run. */
export function createConfigReader(client: Pick<RegistryClient, 'getBlob'>, logger: Logger): ConfigReader {
  // config digest → the platform it names, so publishing the same image again reads no config
  const platforms = new Map<string, Platform | undefined>();

  async function read(repo: RepositoryRef, config: Descriptor, signal: AbortSignal): Promise<ImageConfig | undefined> {
    if (!isReadableConfig(config)) return undefined;
    const what = `${repo.registry}/${repo.repository}@${config.digest}`;
    // a config is small: one cut off by the network is simply read again (a wrong digest is not)
    return retrying(
      async () => {
        // getBlob checks the digest as the bytes flow: a wrong config errors instead of ending
        const blob = await client.getBlob(repo, config.digest, signal, config.size);
        try {
          const bytes = await readAll(blob.body, MAX_CONFIG_BYTES, what);
          const platform = configPlatform(bytes);
          platforms.set(config.digest, platform);
          return { bytes, ...(platform && { platform }) };
        } finally {
          blob.body.destroy();
        }
      },
      {
        signal,
        retries: CONFIG_READ_RETRIES,
        delayMs: (attempt) => backoffDelay(attempt, DEFAULT_RETRY_POLICY),
        onRetry: (error) => logger.debug('image config read failed; reading it again', { repository: repo.repository, digest: config.digest, error: String(error) }),
      },
    );
  }

  return {
    read,
    async platformOf(repo, config, signal) {
      if (platforms.has(config.digest)) return platforms.get(config.digest);
      return (await read(repo, config, signal))?.platform;
    },
  };
}
