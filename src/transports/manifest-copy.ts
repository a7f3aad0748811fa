import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { linkedSignal } from '../http/linked-signal.js';
import type { FetchedManifest, PushedManifest, RegistryClient, RepositoryRef } from '../registry/client.js';
import { isForeignLayer, isSchema1 } from '../registry/media-types.js';
import { parseManifest, type Descriptor, type ImageManifest, type Manifest, type Platform } from '../registry/schemas.js';
import type { BlobCopier, BlobReader } from './blob-copier.js';
import { isReadableConfig, type ConfigReader, type ImageConfig } from './image-config.js';
import { filterIndexBytes, formatPlatform, indexPlatforms, platformMatches, selectChildren } from './platform-filter.js';
import type { RunState } from './run-state.js';
import type { CopyResult } from './transport.js';

/** One image's copy: where from, where to, and what it has sent so far. */
export interface CopyJob {
  source: RepositoryRef;
  target: RepositoryRef;
  /** the source image, for messages */
  image: string;
  bytesUploaded: number;
  /** the target repository had no tags when this run began: its blobs most likely have to travel */
  fresh?: boolean;
}

export type Copied = Omit<CopyResult, 'warnings' | 'bytesUploaded' | 'sourceDigest'>;

export interface ManifestCopierDeps {
  client: Pick<RegistryClient, 'getManifest' | 'headManifest' | 'putManifest'>;
  blobs: BlobCopier;
  configs: ConfigReader;
  state: RunState;
  /** upload non-distributable (foreign) layers too; by default they stay behind their urls */
  allowNondistributable: boolean;
}

export interface ManifestCopier {
  /** PUTs manifest bytes at the target, counted and remembered for the rest of the run; answers their digest */
  putManifest(job: CopyJob, reference: string, bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<PushedManifest>;
  /** makes blobs present at the target (at most once over the wire per registry) */
  ensureBlobs(job: CopyJob, blobs: ReadonlyArray<{ digest: string; size: number; urls?: string[] }>, signal: AbortSignal): Promise<void>;
  copyIndex(job: CopyJob, top: FetchedManifest, manifests: Descriptor[], filters: Platform[], tag: string, signal: AbortSignal): Promise<Copied>;
  copyImage(job: CopyJob, top: FetchedManifest, content: ImageManifest, filters: Platform[], tag: string, signal: AbortSignal): Promise<Copied>;
  /** a manifest that may be at the target already (a referrer): looked up first unless its repository was new */
  copyMissing(job: CopyJob, descriptor: Descriptor, signal: AbortSignal): Promise<void>;
  /** a digest tag (signature, attestation, SBOM, referrers fallback index), byte for byte under its own name */
  copyTag(job: CopyJob, tag: string, signal: AbortSignal): Promise<Manifest>;
  /** the platforms a manifest already at `repo` publishes */
  publishedPlatforms(repo: RepositoryRef, content: Manifest, signal: AbortSignal): Promise<string[]>;
  stats(): { manifestsPut: number; manifestBytesPut: number };
}

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
  const linked = linkedSignal(signal);
  let first: { error: unknown } | undefined;
  await Promise.allSettled(
    tasks.map((task) =>
      task(linked.signal).catch((error: unknown) => {
        first ??= { error };
        linked.abort(error);
      }),
    ),
  );
  linked.dispose();
  if (first) throw first.error;
}

/** Copies manifests byte for byte (so digests are preserved), with everything below them: children and blobs. */
export function createManifestCopier(deps: ManifestCopierDeps): ManifestCopier {
  const { client, blobs, configs, state } = deps;
  let manifestsPut = 0;
  let manifestBytesPut = 0;

  async function putManifest(job: CopyJob, reference: string, bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<PushedManifest> {
    const pushed = await client.putManifest(job.target, reference, bytes, mediaType, signal);
    state.rememberPut(job.target, pushed.digest);
    manifestsPut++;
    manifestBytesPut += bytes.length;
    job.bytesUploaded += bytes.length;
    return pushed;
  }

  async function ensureBlob(job: CopyJob, blob: { digest: string; size: number; urls?: string[] }, signal: AbortSignal, read?: BlobReader): Promise<void> {
    const outcome = await blobs.ensure(
      {
        source: job.source,
        target: job.target,
        digest: blob.digest,
        size: blob.size,
        ...(blob.urls !== undefined && { urls: blob.urls }),
        ...(job.fresh && { fresh: true }),
      },
      signal,
      read,
    );
    if (outcome.kind === 'uploaded') job.bytesUploaded += outcome.bytes;
  }

  const ensureBlobs: ManifestCopier['ensureBlobs'] = (job, list, signal) =>
    runAll(
      list.map((blob) => (s) => ensureBlob(job, blob, s)),
      signal,
    );

  /**
   * Brings every blob of an image to the target. A config that has to be sent is read whole on its way (it names
   * the platform the metadata records), so no request fetches it again once the manifest is published; `config`:
   * its bytes, when already read.
   */
  async function copyBlobs(job: CopyJob, content: ImageManifest, signal: AbortSignal, config?: Buffer): Promise<void> {
    const unique = new Map<string, Descriptor>();
    // foreign layers are fetched from their urls by whoever pulls: the target needs the manifest, not the bytes
    const wanted = content.layers.filter((layer) => deps.allowNondistributable || !isForeignLayer(layer.mediaType));
    for (const blob of [content.config, ...wanted]) unique.set(blob.digest, blob);
    const readConfig: BlobReader | undefined =
      config !== undefined
        ? async () => config
        : isReadableConfig(content.config)
          ? async (s) => (await configs.read(job.source, content.config, s))!.bytes
          : undefined;
    await runAll(
      [...unique.values()].map((blob) => (s) => ensureBlob(job, blob, s, blob === content.config ? readConfig : undefined)),
      signal,
    );
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

  /**
   * Copies a child manifest (and everything below it) and PUTs it by digest. No existence check first: an index
   * already at the target was caught before its children, and a child put earlier in this run is remembered.
   */
  async function copyByDigest(job: CopyJob, descriptor: Descriptor, signal: AbortSignal): Promise<void> {
    if (isSchema1(descriptor.mediaType)) throw schema1Error(`${job.image}@${descriptor.digest}`, descriptor.mediaType);
    if (state.wasPut(job.target, descriptor.digest)) return;
    const fetched = await client.getManifest(job.source, descriptor.digest, signal);
    await copyManifest(job, fetched, descriptor.digest, `${job.image}@${descriptor.digest}`, descriptor.platform, signal);
  }

  async function copyChildren(job: CopyJob, children: readonly Descriptor[], signal: AbortSignal): Promise<void> {
    for (const child of children) if (isSchema1(child.mediaType)) throw schema1Error(`${job.image}@${child.digest}`, child.mediaType);
    await runAll(
      children.map((child) => (s) => copyByDigest(job, child, s)),
      signal,
    );
  }

  async function copyIndex(job: CopyJob, top: FetchedManifest, manifests: Descriptor[], filters: Platform[], tag: string, signal: AbortSignal): Promise<Copied> {
    const kept = selectChildren(manifests, filters);
    if (kept.length === 0) {
      throw new GcrsyncError(
        'NO_MATCHING_PLATFORM',
        `${job.image} has none of the platforms ${filters.map(formatPlatform).join(', ')} (it has ${indexPlatforms(manifests).join(', ') || 'none'})`,
        { ref: job.image },
      );
    }
    await copyChildren(job, kept, signal);
    const digestPreserved = kept.length === manifests.length;
    const bytes = digestPreserved ? top.bytes : filterIndexBytes(top.bytes, new Set(kept.map((m) => m.digest)));
    const pushed = await putManifest(job, tag, bytes, top.mediaType, signal);
    return { targetDigest: pushed.digest, confirmed: pushed.confirmed, platforms: indexPlatforms(kept), digestPreserved };
  }

  async function copyImage(job: CopyJob, top: FetchedManifest, content: ImageManifest, filters: Platform[], tag: string, signal: AbortSignal): Promise<Copied> {
    let config: ImageConfig | undefined;
    if (filters.length > 0) {
      // Decide before sending anything: a single-platform image outside the filter is not wanted at all.
      config = await configs.read(job.source, content.config, signal);
      if (config?.platform && !platformMatches(filters, config.platform)) {
        throw new GcrsyncError(
          'NO_MATCHING_PLATFORM',
          `${job.image} is only ${formatPlatform(config.platform)}, none of the platforms ${filters.map(formatPlatform).join(', ')}`,
          { ref: job.image },
        );
      }
    }
    await copyBlobs(job, content, signal, config?.bytes);
    const pushed = await putManifest(job, tag, top.bytes, top.mediaType, signal);
    const platform = await configs.platformOf(job.target, content.config, signal);
    return { targetDigest: pushed.digest, confirmed: pushed.confirmed, platforms: platform ? [formatPlatform(platform)] : [], digestPreserved: true };
  }

  return {
    putManifest,
    ensureBlobs,
    copyIndex,
    copyImage,
    async copyMissing(job, descriptor, signal) {
      if (!job.fresh && !state.wasPut(job.target, descriptor.digest) && (await client.headManifest(job.target, descriptor.digest, signal)) !== undefined) return;
      await copyByDigest(job, descriptor, signal);
    },
    async copyTag(job, tag, signal) {
      const fetched = await client.getManifest(job.source, tag, signal);
      const image = `${job.source.registry}/${job.source.repository}:${tag}`;
      const present = job.fresh ? undefined : await client.headManifest(job.target, tag, signal);
      if (present?.digest === fetched.digest) return parseManifest(fetched.bytes, fetched.mediaType, image);
      return copyManifest(job, fetched, tag, image, undefined, signal);
    },
    async publishedPlatforms(repo, content, signal) {
      if (content.kind === 'index') return indexPlatforms(content.manifests);
      if (content.kind === 'manifest') {
        const platform = await configs.platformOf(repo, content.config, signal);
        return platform ? [formatPlatform(platform)] : [];
      }
      return [];
    },
    stats: () => ({ manifestsPut, manifestBytesPut }),
  };
}
