import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, retrying } from '../http/retry.js';
import { silentLogger, type Logger } from '../log.js';
import { formatReference, type Reference } from '../ref/reference.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../registry/client.js';
import { DOCKER_CONFIG, OCI_CONFIG, isForeignLayer, isSchema1 } from '../registry/media-types.js';
import { parseManifest, type Descriptor, type ImageManifest, type Manifest, type Platform } from '../registry/schemas.js';
import { createBlobCopier, type BlobStats } from './blob-copier.js';
import { copyFollowers } from './referrers.js';
import { convertSchema1 } from './schema1.js';
import {
  configPlatform,
  filterIndexBytes,
  formatPlatform,
  indexPlatforms,
  parsePlatformFilter,
  platformMatches,
  selectChildren,
} from './platform-filter.js';
import type { CopyRequest, CopyResult, Transport } from './transport.js';

export interface TransferStats extends BlobStats {
  manifestsPut: number;
  /** blob and manifest bytes sent to target registries */
  bytesUploaded: number;
}

export interface RegistryTransportOptions {
  client: RegistryClient;
  logger?: Logger;
  /** blob transfers at once, shared by all images in flight */
  blobConcurrency?: number;
  /** `os/arch[/variant]` to keep when a request names none; empty keeps every platform */
  platforms?: string[];
  /** upload chunk size handed to the client, for registries that cap request bodies */
  chunkBytes?: number;
  /** Docker schema1 images: `skip` answers them as not mirrorable (default), `convert` copies them as schema2 */
  schema1?: 'skip' | 'convert';
  /** copy OCI 1.1 referrers with each image (default true) */
  referrers?: boolean;
  /** upload non-distributable (foreign) layers too; by default they stay behind their urls */
  allowNondistributable?: boolean;
}

export type RegistryTransport = Transport & { stats(): TransferStats };

// Measured with 12 two-platform images behind 30 ms of latency per request: 1 → 9.2 s, 2 → 5.2 s, 4 → 3.1 s,
// 8 → 2.2 s, 16 → 2.4 s. Past 8 the HTTP client's connections per origin (8) are the limit.
export const DEFAULT_BLOB_CONCURRENCY = 8;

// Image configs are small JSON documents; refuse to buffer anything claiming to be bigger.
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const IMAGE_CONFIG_TYPES = new Set([DOCKER_CONFIG, OCI_CONFIG]);
const CONFIG_READ_RETRIES = 3;

interface CopyJob {
  source: RepositoryRef;
  target: RepositoryRef;
  /** the source image, for messages */
  image: string;
  bytesUploaded: number;
}

const repositoryOf = (ref: Reference): RepositoryRef => ({ registry: ref.registry, repository: ref.repository });

function schema1Error(image: string, mediaType: string): GcrsyncError {
  return new GcrsyncError(
    'UNSUPPORTED',
    `${image} is a Docker schema1 manifest (${mediaType}): its digest covers a signed payload that current registries ` +
      'refuse to store, so it cannot be copied with its digest preserved (schema1: convert converts tagged schema1 images, not children of an index)',
    { ref: image },
  );
}

/**
 * The target answered the PUT with a refusal, not a bad moment: a 4xx, or the 500 distribution answers for a
 * manifest it will not store (its urls are not allowed); 429 and 502–504 are a bad moment.
 */
function refusedByTarget(error: unknown): boolean {
  const status = isGcrsyncError(error) ? error.info.status : undefined;
  return status !== undefined && status >= 400 && status <= 500 && status !== 408 && status !== 429;
}

/** A target that refuses a manifest with foreign layers (distribution without `validation.manifests.urls.allow`). */
function foreignRefusedError(image: string, platform: Platform | undefined, cause: unknown): GcrsyncError {
  const which = platform === undefined ? '' : ` (${formatPlatform(platform)})`;
  return new GcrsyncError(
    'UNSUPPORTED',
    `${image}${which} has non-distributable (foreign) layers and the target refused its manifest: ${isGcrsyncError(cause) ? cause.message : String(cause)}; ` +
      'the target must allow their urls (distribution: validation.manifests.urls.allow)',
    { ref: image, cause },
  );
}

/**
 * Runs every task with a signal that is aborted as soon as one of them fails, waits until all have stopped, and
 * throws the first failure: no transfer keeps running for an image that has already failed.
 */
async function runAll(tasks: Array<(signal: AbortSignal) => Promise<void>>, signal: AbortSignal): Promise<void> {
  const local = new AbortController();
  const linked = AbortSignal.any([signal, local.signal]);
  let first: { error: unknown } | undefined;
  await Promise.allSettled(
    tasks.map((task) =>
      task(linked).catch((error: unknown) => {
        first ??= { error };
        local.abort(error);
      }),
    ),
  );
  if (first) throw first.error;
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

/**
 * The direct registry-to-registry transport: copies manifests byte for byte (so digests are preserved) and streams
 * blobs from source to target without a daemon, mounting blobs that already crossed during this run.
 */
export function createRegistryTransport(options: RegistryTransportOptions): RegistryTransport {
  const { client } = options;
  const logger = options.logger ?? silentLogger;
  const blobs = createBlobCopier({
    client,
    concurrency: options.blobConcurrency ?? DEFAULT_BLOB_CONCURRENCY,
    logger,
    ...(options.chunkBytes !== undefined && { chunkBytes: options.chunkBytes }),
  });
  const defaultFilters = (options.platforms ?? []).map(parsePlatformFilter);
  let manifestsPut = 0;
  let manifestBytesPut = 0;

  async function putManifest(job: CopyJob, reference: string, bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<string> {
    const digest = await client.putManifest(job.target, reference, bytes, mediaType, signal);
    manifestsPut++;
    manifestBytesPut += bytes.length;
    job.bytesUploaded += bytes.length;
    return digest;
  }

  async function readConfigPlatform(repo: RepositoryRef, config: Descriptor, signal: AbortSignal): Promise<Platform | undefined> {
    if (!IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > MAX_CONFIG_BYTES) return undefined;
    const what = `${repo.registry}/${repo.repository}@${config.digest}`;
    // a config is small: one cut off by the network is simply read again (a wrong digest is not)
    return retrying(
      async () => {
        // getBlob checks the digest as the bytes flow: a wrong config errors instead of ending
        const blob = await client.getBlob(repo, config.digest, signal, config.size);
        try {
          return configPlatform(await readAll(blob.body, MAX_CONFIG_BYTES, what));
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

  async function copyBlobs(job: CopyJob, content: ImageManifest, signal: AbortSignal): Promise<void> {
    const unique = new Map<string, Descriptor>();
    // foreign layers are fetched from their urls by whoever pulls: the target needs the manifest, not the bytes
    const wanted = content.layers.filter((layer) => options.allowNondistributable === true || !isForeignLayer(layer.mediaType));
    for (const blob of [content.config, ...wanted]) unique.set(blob.digest, blob);
    await runAll(
      [...unique.values()].map((blob) => (s) => ensureBlob(job, blob, s)),
      signal,
    );
  }

  async function ensureBlob(job: CopyJob, blob: { digest: string; size: number; urls?: string[] }, signal: AbortSignal): Promise<void> {
    const outcome = await blobs.ensure(
      { source: job.source, target: job.target, digest: blob.digest, size: blob.size, ...(blob.urls !== undefined && { urls: blob.urls }) },
      signal,
    );
    if (outcome.kind === 'uploaded') job.bytesUploaded += outcome.bytes;
  }

  /** Copies a manifest's content (children or blobs) and PUTs its bytes under `reference`. */
  async function copyManifest(job: CopyJob, fetched: FetchedManifest, reference: string, image: string, platform: Platform | undefined, signal: AbortSignal): Promise<Manifest> {
    const content = parseManifest(fetched.bytes, fetched.mediaType, image);
    if (content.kind === 'schema1') throw schema1Error(image, content.mediaType);
    if (content.kind === 'index') await copyChildren(job, content.manifests, signal);
    else await copyBlobs(job, content, signal);
    try {
      await putManifest(job, reference, fetched.bytes, fetched.mediaType, signal);
    } catch (error) {
      const foreign = content.kind === 'manifest' && content.layers.some((layer) => isForeignLayer(layer.mediaType));
      if (foreign && !signal.aborted && refusedByTarget(error)) throw foreignRefusedError(image, platform, error);
      throw error;
    }
    return content;
  }

  /** Copies a child manifest (and everything below it) and PUTs it by digest. */
  async function copyByDigest(job: CopyJob, descriptor: Descriptor, signal: AbortSignal): Promise<void> {
    if (isSchema1(descriptor.mediaType)) throw schema1Error(`${job.image}@${descriptor.digest}`, descriptor.mediaType);
    if ((await client.headManifest(job.target, descriptor.digest, signal)) !== undefined) return;
    const fetched = await client.getManifest(job.source, descriptor.digest, signal);
    await copyManifest(job, fetched, descriptor.digest, `${job.image}@${descriptor.digest}`, descriptor.platform, signal);
  }

  /** A digest tag (signature, attestation, SBOM, referrers fallback index): copied byte for byte under its own name. */
  async function copyTag(job: CopyJob, tag: string, signal: AbortSignal): Promise<Manifest> {
    const fetched = await client.getManifest(job.source, tag, signal);
    const image = `${job.source.registry}/${job.source.repository}:${tag}`;
    const present = await client.headManifest(job.target, tag, signal);
    if (present?.digest === fetched.digest) return parseManifest(fetched.bytes, fetched.mediaType, image);
    return copyManifest(job, fetched, tag, image, undefined, signal);
  }

  async function copyChildren(job: CopyJob, children: readonly Descriptor[], signal: AbortSignal): Promise<void> {
    for (const child of children) if (isSchema1(child.mediaType)) throw schema1Error(`${job.image}@${child.digest}`, child.mediaType);
    await runAll(
      children.map((child) => (s) => copyByDigest(job, child, s)),
      signal,
    );
  }

  async function copyIndex(
    job: CopyJob,
    top: FetchedManifest,
    manifests: Descriptor[],
    filters: Platform[],
    tag: string,
    signal: AbortSignal,
  ): Promise<Omit<CopyResult, 'warnings' | 'bytesUploaded' | 'sourceDigest'>> {
    const kept = selectChildren(manifests, filters);
    if (kept.length === 0) {
      throw new GcrsyncError(
        'NOT_FOUND',
        `${job.image} has none of the platforms ${filters.map(formatPlatform).join(', ')} (it has ${indexPlatforms(manifests).join(', ') || 'none'})`,
        { ref: job.image },
      );
    }
    await copyChildren(job, kept, signal);
    const digestPreserved = kept.length === manifests.length;
    const bytes = digestPreserved ? top.bytes : filterIndexBytes(top.bytes, new Set(kept.map((m) => m.digest)));
    const targetDigest = await putManifest(job, tag, bytes, top.mediaType, signal);
    return { targetDigest, platforms: indexPlatforms(kept), digestPreserved };
  }

  async function copyImage(
    job: CopyJob,
    top: FetchedManifest,
    content: ImageManifest,
    filters: Platform[],
    tag: string,
    signal: AbortSignal,
  ): Promise<Omit<CopyResult, 'warnings' | 'bytesUploaded' | 'sourceDigest'>> {
    let platform: Platform | undefined;
    if (filters.length > 0) {
      // Decide before sending anything: a single-platform image outside the filter is not wanted at all.
      platform = await readConfigPlatform(job.source, content.config, signal);
      if (platform && !platformMatches(filters, platform)) {
        throw new GcrsyncError(
          'NOT_FOUND',
          `${job.image} is only ${formatPlatform(platform)}, none of the platforms ${filters.map(formatPlatform).join(', ')}`,
          { ref: job.image },
        );
      }
    }
    await copyBlobs(job, content, signal);
    const targetDigest = await putManifest(job, tag, top.bytes, top.mediaType, signal);
    platform ??= await readConfigPlatform(job.target, content.config, signal);
    return { targetDigest, platforms: platform ? [formatPlatform(platform)] : [], digestPreserved: true };
  }

  async function publishedPlatforms(repo: RepositoryRef, content: Manifest, signal: AbortSignal): Promise<string[]> {
    if (content.kind === 'index') return indexPlatforms(content.manifests);
    if (content.kind === 'manifest') {
      const platform = await readConfigPlatform(repo, content.config, signal);
      return platform ? [formatPlatform(platform)] : [];
    }
    return [];
  }

  async function copy(request: CopyRequest, signal: AbortSignal): Promise<CopyResult> {
    const image = formatReference(request.source);
    const sourceTag = request.source.tag;
    const targetTag = request.target.tag;
    if (sourceTag === undefined || targetTag === undefined) {
      throw new GcrsyncError('USAGE', `copy needs a tag on both sides (${image} → ${formatReference(request.target)})`, { ref: image });
    }
    const filters = request.platforms && request.platforms.length > 0 ? request.platforms.map(parsePlatformFilter) : defaultFilters;
    const job: CopyJob = { source: repositoryOf(request.source), target: repositoryOf(request.target), image, bytesUploaded: 0 };
    const warnings: string[] = [];

    const head = await client.headManifest(job.source, sourceTag, signal);
    if (head === undefined) throw new GcrsyncError('NOT_FOUND', `${image} is not at the source`, { ref: image });
    if (head.digest !== request.sourceDigest) {
      warnings.push(`${image} now points at ${head.digest}, the listing saw ${request.sourceDigest}; copied ${head.digest}`);
    }
    if (isSchema1(head.mediaType)) {
      if (options.schema1 !== 'convert') {
        logger.debug('schema1 image not mirrorable', { image, digest: head.digest });
        return { sourceDigest: head.digest, targetDigest: '', platforms: [], digestPreserved: false, bytesUploaded: 0, warnings, notMirrorable: 'schema1' };
      }
      const fetched = await client.getManifest(job.source, head.digest, signal);
      const converted = await convertSchema1(
        {
          client,
          putManifest: (bytes, mediaType, s) => putManifest(job, targetTag, bytes, mediaType, s),
          copyBlobs: (layers, s) => runAll(layers.map((layer) => (t) => ensureBlob(job, layer, t)), s),
          uploaded: (bytes) => (job.bytesUploaded += bytes),
        },
        { source: job.source, target: job.target, image },
        fetched,
        signal,
      );
      const platforms = converted.platform ? [formatPlatform(converted.platform)] : [];
      return { sourceDigest: head.digest, targetDigest: converted.targetDigest, platforms, digestPreserved: false, converted: 'schema1', bytesUploaded: job.bytesUploaded, warnings };
    }

    let copied: Omit<CopyResult, 'warnings' | 'bytesUploaded' | 'sourceDigest'>;
    if (filters.length === 0 && (await client.headManifest(job.target, head.digest, signal)) !== undefined) {
      // The registry accepted that manifest earlier, so everything it references is there: only the tag is missing.
      // The bytes come from the source: a GET at a Docker Hub target would spend a pull on what the HEAD told.
      const existing = await client.getManifest(job.source, head.digest, signal);
      const content = parseManifest(existing.bytes, existing.mediaType, `${image}@${head.digest}`);
      const targetDigest = await putManifest(job, targetTag, existing.bytes, existing.mediaType, signal);
      logger.debug('tagged manifest already at the target', { image, digest: targetDigest });
      copied = { targetDigest, platforms: await publishedPlatforms(job.target, content, signal), digestPreserved: targetDigest === head.digest };
    } else {
      const top = await client.getManifest(job.source, head.digest, signal);
      const content = parseManifest(top.bytes, top.mediaType, image);
      if (content.kind === 'schema1') throw schema1Error(image, content.mediaType);
      copied =
        content.kind === 'index'
          ? await copyIndex(job, top, content.manifests, filters, targetTag, signal)
          : await copyImage(job, top, content, filters, targetTag, signal);
      logger.debug('copied image', { image, target: formatReference(request.target), digest: copied.targetDigest });
    }
    const followers = await copyImageFollowers(job, head.digest, copied, request.digestTags ?? [], warnings, signal);
    return { ...copied, ...followers, sourceDigest: head.digest, bytesUploaded: job.bytesUploaded, warnings };
  }

  /** Signatures and referrers follow an image whose digest the mirror kept (they name that digest). */
  async function copyImageFollowers(
    job: CopyJob,
    digest: string,
    copied: Omit<CopyResult, 'warnings' | 'bytesUploaded' | 'sourceDigest'>,
    digestTags: readonly string[],
    warnings: string[],
    signal: AbortSignal,
  ): Promise<Pick<CopyResult, 'signatures' | 'referrers'>> {
    const referrers = options.referrers !== false;
    if (digestTags.length === 0 && !referrers) return {};
    if (!copied.digestPreserved) {
      if (digestTags.length > 0) warnings.push(`${job.image}: signatures not copied, the mirror's digest ${copied.targetDigest} is not the signed ${digest}`);
      return {};
    }
    const found = await copyFollowers(
      {
        client,
        logger,
        copyTag: (tag, s) => copyTag(job, tag, s),
        copyManifest: (descriptor, s) => copyByDigest(job, descriptor, s),
        warn: (message) => warnings.push(message),
      },
      { source: job.source, target: job.target, digest, digestTags, referrers },
      signal,
    );
    return { ...(found.signatures > 0 && { signatures: found.signatures }), ...(found.referrers > 0 && { referrers: found.referrers }) };
  }

  return {
    name: 'registry',
    async copy(request, signal) {
      try {
        return await copy(request, signal);
      } catch (error) {
        if (signal.aborted && !isGcrsyncError(error, 'ABORTED')) {
          throw new GcrsyncError('ABORTED', `copy of ${formatReference(request.source)} aborted`, { cause: error });
        }
        throw error;
      }
    },
    stats() {
      const blobStats = blobs.stats();
      return { ...blobStats, manifestsPut, bytesUploaded: blobStats.blobBytesUploaded + manifestBytesPut };
    },
    close: () => blobs.close(),
  };
}
