import { GcrsyncError, isGcrsyncError } from '../errors.js';
import type { Concurrency } from '../http/adaptive-concurrency.js';
import { silentLogger, type Logger } from '../log.js';
import { formatReference, type Reference } from '../ref/reference.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../registry/client.js';
import { isSchema1 } from '../registry/media-types.js';
import { parseManifest } from '../registry/schemas.js';
import { createBlobCopier, type BlobStats } from './blob-copier.js';
import { createConfigReader } from './image-config.js';
import { createManifestCopier, type Copied, type CopyJob } from './manifest-copy.js';
import { formatPlatform, parsePlatformFilter } from './platform-filter.js';
import { copyFollowers } from './referrers.js';
import { createRunState } from './run-state.js';
import { convertSchema1 } from './schema1.js';
import type { CopyRequest, CopyResult, Transport } from './transport.js';

export interface TransferStats extends BlobStats {
  manifestsPut: number;
  /** blob and manifest bytes sent to target registries */
  bytesUploaded: number;
}

export interface RegistryTransportOptions {
  client: RegistryClient;
  logger?: Logger;
  /** blob transfers at once, shared by all images in flight: fixed, or adapting to the registries */
  blobConcurrency?: Concurrency;
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

export type RegistryTransport = Transport & {
  stats(): TransferStats;
  /** the platforms of the image at `ref` (an index's entries, or the one of an image's config); [] when not there */
  platformsOf(ref: Reference, signal: AbortSignal): Promise<string[]>;
};

// Far from the registries every transfer is a few round trips of waiting: measured with 12 two-platform images
// behind 30 ms of latency per request, 1 → 9.2 s, 2 → 5.2 s, 4 → 3.1 s, 8 → 2.2 s with 8 connections per origin;
// raised to 32 with the HTTP client's connections per origin (32), so a far registry's round trips overlap
// (the bench's WAN case, issue 14). Where adaptive blob concurrency starts, and what a transport without it keeps.
export const DEFAULT_BLOB_CONCURRENCY = 32;

const repositoryOf = (ref: Reference): RepositoryRef => ({ registry: ref.registry, repository: ref.repository });

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
  const state = createRunState(client);
  const manifests = createManifestCopier({
    client,
    blobs,
    configs: createConfigReader(client, logger),
    state,
    allowNondistributable: options.allowNondistributable === true,
  });
  const defaultFilters = (options.platforms ?? []).map(parsePlatformFilter);

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
    if (request.sourceMediaType !== undefined && isSchema1(request.sourceMediaType) && options.schema1 !== 'convert') {
      // the listing said so: not one request for an image no registry stores any more
      return notMirrorable(image, request.sourceDigest, warnings);
    }
    // asked while the source manifest comes, so a new repository costs no round trip of its own
    const mayHold = state.mayHoldImages(job.target, signal);

    // One GET by tag: its bytes name the digest (a HEAD first would only cost a round trip more).
    const top = await client.getManifest(job.source, sourceTag, signal);
    if (top.digest !== request.sourceDigest) {
      warnings.push(`${image} now points at ${top.digest}, the listing saw ${request.sourceDigest}; copied ${top.digest}`);
    }
    if (isSchema1(top.mediaType)) return copySchema1(job, top, targetTag, warnings, signal);
    const content = parseManifest(top.bytes, top.mediaType, image);
    if (content.kind === 'schema1') return copySchema1(job, top, targetTag, warnings, signal);

    let copied: Copied;
    const there =
      filters.length === 0 &&
      (state.wasPut(job.target, top.digest) || ((await mayHold) && (await client.headManifest(job.target, top.digest, signal)) !== undefined));
    if (there) {
      // The registry accepted that manifest earlier, so everything it references is there: only the tag is
      // missing, and the source's bytes are the target's (same digest), so no GET at the target (on Docker Hub
      // it would spend a pull on what the HEAD told).
      const pushed = await manifests.putManifest(job, targetTag, top.bytes, top.mediaType, signal);
      logger.debug('tagged manifest already at the target', { image, digest: pushed.digest });
      copied = {
        targetDigest: pushed.digest,
        confirmed: pushed.confirmed,
        platforms: await manifests.publishedPlatforms(job.target, content, signal),
        digestPreserved: pushed.digest === top.digest,
      };
    } else {
      job.fresh = !(await mayHold);
      copied =
        content.kind === 'index'
          ? await manifests.copyIndex(job, top, content.manifests, filters, targetTag, signal)
          : await manifests.copyImage(job, top, content, filters, targetTag, signal);
      logger.debug('copied image', { image, target: formatReference(request.target), digest: copied.targetDigest });
    }
    const followers = await copyImageFollowers(job, top.digest, copied, request.digestTags ?? [], warnings, signal);
    return { ...copied, ...followers, sourceDigest: top.digest, bytesUploaded: job.bytesUploaded, warnings };
  }

  function notMirrorable(image: string, digest: string, warnings: string[]): CopyResult {
    logger.debug('schema1 image not mirrorable', { image, digest });
    return { sourceDigest: digest, targetDigest: '', platforms: [], digestPreserved: false, bytesUploaded: 0, warnings, notMirrorable: 'schema1' };
  }

  /** A tagged schema1 image: not mirrorable, or (`schema1: convert`) pushed as the schema2 image it converts to. */
  async function copySchema1(job: CopyJob, fetched: FetchedManifest, targetTag: string, warnings: string[], signal: AbortSignal): Promise<CopyResult> {
    if (options.schema1 !== 'convert') return notMirrorable(job.image, fetched.digest, warnings);
    const converted = await convertSchema1(
      {
        client,
        putManifest: async (bytes, mediaType, s) => (await manifests.putManifest(job, targetTag, bytes, mediaType, s)).digest,
        copyBlobs: (layers, s) => manifests.ensureBlobs(job, layers, s),
        uploaded: (bytes) => (job.bytesUploaded += bytes),
      },
      { source: job.source, target: job.target, image: job.image },
      fetched,
      signal,
    );
    const platforms = converted.platform ? [formatPlatform(converted.platform)] : [];
    return { sourceDigest: fetched.digest, targetDigest: converted.targetDigest, platforms, digestPreserved: false, converted: 'schema1', bytesUploaded: job.bytesUploaded, warnings };
  }

  /** Signatures and referrers follow an image whose digest the mirror kept (they name that digest). */
  async function copyImageFollowers(
    job: CopyJob,
    digest: string,
    copied: Copied,
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
        client: {
          getReferrers: (repo, of, s) => state.getReferrers(repo, of, s),
          headManifest: (repo, reference, s) => client.headManifest(repo, reference, s),
          getManifest: (repo, reference, s) => client.getManifest(repo, reference, s),
          putManifest: (repo, reference, bytes, mediaType, s) => client.putManifest(repo, reference, bytes, mediaType, s),
        },
        logger,
        copyTag: (tag, s) => manifests.copyTag(job, tag, s),
        copyManifest: (descriptor, s) => manifests.copyMissing(job, descriptor, s),
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
    async platformsOf(ref, signal) {
      const repo = repositoryOf(ref);
      const reference = ref.digest ?? ref.tag;
      if (reference === undefined || (await client.headManifest(repo, reference, signal)) === undefined) return [];
      const fetched = await client.getManifest(repo, reference, signal);
      return manifests.publishedPlatforms(repo, parseManifest(fetched.bytes, fetched.mediaType, formatReference(ref)), signal);
    },
    stats() {
      const blobStats = blobs.stats();
      const { manifestsPut, manifestBytesPut } = manifests.stats();
      return { ...blobStats, manifestsPut, bytesUploaded: blobStats.blobBytesUploaded + manifestBytesPut };
    },
    close: () => blobs.close(),
  };
}
