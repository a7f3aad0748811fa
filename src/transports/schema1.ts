import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import { GcrsyncError } from '../errors.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../registry/client.js';
import { digestOf } from '../registry/digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST } from '../registry/media-types.js';
import { parseManifest, type Descriptor, type Platform, type Schema1Manifest } from '../registry/schemas.js';

/**
 * Docker schema1 → Docker schema2, the way skopeo converts (containers/image manifest/docker_schema1.go
 * ToSchema2Config and image/docker_schema1.go): layers oldest first with the empty ones dropped, the config built
 * from the newest `v1Compatibility` without its v1 fields, `rootfs.diff_ids` from the uncompressed layers, and
 * `history` from every entry. The result is a new image: its digest is not the schema1 digest.
 */

/** gzip of an empty tar as docker wrote it: the blobSum of a layer that changes nothing (ENV, CMD, …). */
const GZIPPED_EMPTY_LAYER = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
/** v1-only fields skopeo drops from the config */
const V1_FIELDS = ['id', 'parent', 'parent_id', 'layer_id', 'throwaway', 'Size'];

interface V1Compatibility {
  throwaway?: boolean;
  created?: string;
  author?: string;
  comment?: string;
  container_config?: { Cmd?: string[] | null };
}

export interface Schema1Layer {
  digest: string;
  /** throwaway (metadata only) or the empty gzip'd tar: no layer in the converted image */
  empty: boolean;
  compat: V1Compatibility;
}

function parseCompat(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GcrsyncError('HOSTILE_RESPONSE', `${where}: a v1Compatibility entry is not JSON`, { ref: where });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GcrsyncError('HOSTILE_RESPONSE', `${where}: a v1Compatibility entry is not an object`, { ref: where });
  }
  return value as Record<string, unknown>;
}

/** The layers of a schema1 manifest, oldest first. */
export function schema1Layers(content: Schema1Manifest, where: string): Schema1Layer[] {
  return content.blobSums
    .map((digest, i) => {
      const compat = parseCompat(content.history[i]!, where) as V1Compatibility;
      return { digest, empty: compat.throwaway === true || digest === GZIPPED_EMPTY_LAYER, compat };
    })
    .reverse();
}

/** The schema2 config: the newest v1Compatibility without v1 fields, plus rootfs and history. */
export function schema2Config(content: Schema1Manifest, layers: readonly Schema1Layer[], diffIds: readonly string[], where: string): Buffer {
  if (content.history.length === 0) throw new GcrsyncError('HOSTILE_RESPONSE', `${where}: schema1 manifest without history`, { ref: where });
  const config = parseCompat(content.history[0]!, where);
  for (const field of V1_FIELDS) delete config[field];
  config.rootfs = { type: 'layers', diff_ids: diffIds };
  config.history = layers.map(({ compat, empty }) => ({
    ...(compat.created !== undefined && { created: compat.created }),
    ...(compat.author !== undefined && { author: compat.author }),
    created_by: (compat.container_config?.Cmd ?? []).join(' '),
    ...(compat.comment !== undefined && { comment: compat.comment }),
    ...(empty && { empty_layer: true }),
  }));
  return Buffer.from(JSON.stringify(config));
}

/** The platform a schema2 config names, for the record. */
export function configPlatformOf(config: Buffer): Platform | undefined {
  const parsed = JSON.parse(config.toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
  if (typeof parsed.os !== 'string' || typeof parsed.architecture !== 'string') return undefined;
  return { os: parsed.os, architecture: parsed.architecture, ...(typeof parsed.variant === 'string' && { variant: parsed.variant }) };
}

export function schema2Manifest(config: Buffer, layers: ReadonlyArray<{ digest: string; size: number }>): { bytes: Buffer; config: Descriptor } {
  const configDescriptor: Descriptor = { mediaType: DOCKER_CONFIG, size: config.length, digest: digestOf(config, 'sha256') };
  const body = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: configDescriptor,
    layers: layers.map((layer) => ({ mediaType: DOCKER_LAYER_GZIP, size: layer.size, digest: layer.digest })),
  };
  return { bytes: Buffer.from(JSON.stringify(body, null, 3)), config: configDescriptor };
}

/**
 * Reads a layer once to learn what schema1 never said: its compressed size and its diff id (sha256 of the
 * uncompressed tar). getBlob checks the compressed digest as the bytes flow.
 */
export async function measureLayer(
  client: Pick<RegistryClient, 'getBlob'>,
  repo: RepositoryRef,
  digest: string,
  signal: AbortSignal,
): Promise<{ size: number; diffId: string }> {
  const blob = await client.getBlob(repo, digest, signal);
  let size = 0;
  const uncompressed = createHash('sha256');
  await pipeline(
    blob.body,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    }),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        uncompressed.update(chunk);
        done();
      },
    }),
    { ...(signal !== undefined && { signal }) },
  );
  return { size, diffId: `sha256:${uncompressed.digest('hex')}` };
}

export interface ConvertDeps {
  client: Pick<RegistryClient, 'getBlob' | 'headBlob' | 'uploadBlob'>;
  /** PUTs the converted manifest under the target tag; answers its digest */
  putManifest(bytes: Buffer, mediaType: string, signal: AbortSignal): Promise<string>;
  /** makes the layers present at the target (the transport's blob copier) */
  copyBlobs(layers: ReadonlyArray<{ digest: string; size: number }>, signal: AbortSignal): Promise<void>;
  /** counts bytes sent to the target */
  uploaded(bytes: number): void;
}

/** Converts a fetched schema1 image and pushes the schema2 image: layers, config, then the manifest. */
export async function convertSchema1(
  deps: ConvertDeps,
  job: { source: RepositoryRef; target: RepositoryRef; image: string },
  fetched: FetchedManifest,
  signal: AbortSignal,
): Promise<{ targetDigest: string; platform?: Platform }> {
  const content = parseManifest(fetched.bytes, fetched.mediaType, job.image);
  if (content.kind !== 'schema1') throw new GcrsyncError('HOSTILE_RESPONSE', `${job.image} changed from a schema1 manifest while it was copied`, { ref: job.image });
  const layers = schema1Layers(content, job.image);
  const kept = layers.filter((layer) => !layer.empty);
  const measured = await Promise.all(kept.map((layer) => measureLayer(deps.client, job.source, layer.digest, signal)));
  const config = schema2Config(content, layers, measured.map((m) => m.diffId), job.image);
  const sized = kept.map((layer, i) => ({ digest: layer.digest, size: measured[i]!.size }));
  const manifest = schema2Manifest(config, sized);
  // a layer listed twice is sent once
  await deps.copyBlobs([...new Map(sized.map((layer) => [layer.digest, layer])).values()], signal);
  if ((await deps.client.headBlob(job.target, manifest.config.digest, signal)) === undefined) {
    await deps.client.uploadBlob(job.target, manifest.config.digest, config.length, config, signal);
    deps.uploaded(config.length);
  }
  const targetDigest = await deps.putManifest(manifest.bytes, DOCKER_MANIFEST, signal);
  const platform = configPlatformOf(config);
  return { targetDigest, ...(platform !== undefined && { platform }) };
}
