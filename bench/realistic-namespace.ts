import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES, tar } from '../test/support/images.js';
import { eachLimit, mountBlob, putManifest, sha256, uploadBlob } from './registry-api.js';

/**
 * The realistic namespace: repositories × tags, a few nested, every image on a shared per-platform base
 * layer plus a per-repository layer and a per-tag layer (incompressible, so bytes on the wire are real), every
 * `multiPlatformEvery`-th repository a two-platform manifest list.
 */
export interface NamespaceShape {
  namespace: string;
  repositories: number;
  tagsPerRepository: number;
  multiPlatformEvery: number;
  baseLayerBytes: number;
  repositoryLayerBytes: number;
  tagLayerBytes: number;
}

export interface BuiltRepository {
  /** path under the namespace, e.g. `addon/app-03` */
  path: string;
  platforms: string[];
}

export interface BuiltNamespace {
  namespace: string;
  repositories: BuiltRepository[];
  tags: string[];
  /** repository × tag pairs */
  tagCount: number;
  /** manifests and lists, every platform */
  manifestCount: number;
  /** distinct blobs (configs and layers) of every platform, and their total size */
  blobCount: number;
  uniqueBytes: number;
  /** distinct blob bytes of the first platform of every image: what a daemon pulls on an amd64 machine */
  uniqueBytesFirstPlatform: number;
  /** the manifest digest each `path:tag` points at */
  digests: Map<string, string>;
}

export const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;

interface Blob {
  bytes: Buffer;
  digest: string;
  diffId?: string;
}

// Level 1: the payload is random, so a higher level only burns CPU for the same size.
function layer(file: string, payloadBytes: number): Blob {
  const raw = tar([{ name: file, content: randomBytes(payloadBytes) }]);
  const bytes = gzipSync(raw, { level: 1 });
  return { bytes, digest: sha256(bytes), diffId: sha256(raw) };
}

function repositoryPath(index: number): string {
  const name = `app-${String(index).padStart(2, '0')}`;
  // every leaf name is unique, so tools that keep only the last path component cannot collide
  if (index % 10 === 3) return `addon/${name}`;
  if (index % 10 === 7) return `tools/ci/${name}`;
  return name;
}

function imageConfig(platform: string, layers: Blob[], label: string): Blob {
  const [os, architecture] = platform.split('/');
  const bytes = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/bin:/bin'], Labels: { 'gcrsync.bench': label } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'gcrsync bench' })),
    }),
  );
  return { bytes, digest: sha256(bytes) };
}

function imageManifest(config: Blob, layers: Blob[]): Buffer {
  const descriptor = (mediaType: string) => (b: Blob) => ({ mediaType, size: b.bytes.length, digest: b.digest });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: descriptor(MEDIA_TYPES.dockerConfig)(config),
      layers: layers.map(descriptor(MEDIA_TYPES.dockerLayer)),
    }),
  );
}

function manifestList(children: Array<{ platform: string; bytes: Buffer }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerList,
      manifests: children.map(({ platform, bytes }) => {
        const [os, architecture] = platform.split('/');
        return { mediaType: MEDIA_TYPES.dockerManifest, size: bytes.length, digest: sha256(bytes), platform: { os, architecture } };
      }),
    }),
  );
}

/** Builds the namespace in the registry at `registryUrl`, `parallel` repositories at a time. */
export async function buildRealisticNamespace(registryUrl: string, shape: NamespaceShape, parallel = 6): Promise<BuiltNamespace> {
  const tags = Array.from({ length: shape.tagsPerRepository }, (_, i) => `v1.${i}`);
  const repositories: BuiltRepository[] = Array.from({ length: shape.repositories }, (_, i) => ({
    path: repositoryPath(i),
    platforms: i % shape.multiPlatformEvery === 0 ? [...PLATFORMS] : [PLATFORMS[0]],
  }));
  if (repositories[0]!.platforms.length !== PLATFORMS.length) throw new Error('the first repository must carry every platform (it seeds the base layers)');
  const blobSizes = new Map<string, number>();
  const firstPlatformBlobs = new Map<string, number>();
  const digests = new Map<string, string>();
  let manifestCount = 0;
  const full = (path: string) => `${shape.namespace}/${path}`;

  const note = (blob: Blob, platformIndex: number) => {
    blobSizes.set(blob.digest, blob.bytes.length);
    if (platformIndex === 0) firstPlatformBlobs.set(blob.digest, blob.bytes.length);
  };

  // the base layers go to the first repository once; every other repository mounts them
  const seed = full(repositories[0]!.path);
  const bases = PLATFORMS.map((platform) => layer(`base-${platform.replace('/', '-')}.bin`, shape.baseLayerBytes));
  for (const base of bases) await uploadBlob(registryUrl, seed, base.bytes, base.digest);

  await eachLimit(repositories, parallel, async (repository) => {
    const name = full(repository.path);
    const perPlatform = repository.platforms.map((platform, p) => {
      const base = bases[PLATFORMS.indexOf(platform as (typeof PLATFORMS)[number])]!;
      note(base, p);
      return { platform, base, own: layer(`${repository.path.replaceAll('/', '-')}.bin`, shape.repositoryLayerBytes) };
    });
    for (const [p, { base, own }] of perPlatform.entries()) {
      if (name !== seed) await mountBlob(registryUrl, name, base.digest, seed);
      await uploadBlob(registryUrl, name, own.bytes, own.digest);
      note(own, p);
    }
    for (const tag of tags) {
      const children: Array<{ platform: string; bytes: Buffer }> = [];
      for (const [p, { platform, base, own }] of perPlatform.entries()) {
        const tagLayer = layer(`${tag}.bin`, shape.tagLayerBytes);
        const layers = [base, own, tagLayer];
        const config = imageConfig(platform, layers, `${repository.path}:${tag}`);
        await uploadBlob(registryUrl, name, tagLayer.bytes, tagLayer.digest);
        await uploadBlob(registryUrl, name, config.bytes, config.digest);
        note(tagLayer, p);
        note(config, p);
        children.push({ platform, bytes: imageManifest(config, layers) });
      }
      if (children.length === 1) {
        await putManifest(registryUrl, name, tag, children[0]!.bytes, MEDIA_TYPES.dockerManifest);
        digests.set(`${repository.path}:${tag}`, sha256(children[0]!.bytes));
        manifestCount++;
        continue;
      }
      for (const child of children) await putManifest(registryUrl, name, sha256(child.bytes), child.bytes, MEDIA_TYPES.dockerManifest);
      const list = manifestList(children);
      await putManifest(registryUrl, name, tag, list, MEDIA_TYPES.dockerList);
      digests.set(`${repository.path}:${tag}`, sha256(list));
      manifestCount += children.length + 1;
    }
  });

  const sum = (sizes: Map<string, number>) => [...sizes.values()].reduce((a, b) => a + b, 0);
  return {
    namespace: shape.namespace,
    repositories,
    tags,
    tagCount: repositories.length * tags.length,
    manifestCount,
    blobCount: blobSizes.size,
    uniqueBytes: sum(blobSizes),
    uniqueBytesFirstPlatform: sum(firstPlatformBlobs),
    digests,
  };
}
