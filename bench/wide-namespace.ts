import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES, tar } from '../test/support/images.js';
import { eachLimit, mountBlob, putManifest, sha256, uploadBlob } from './registry-api.js';

/**
 * The wide namespace: many repositories × tags of one tiny image. The blobs are uploaded once and mounted
 * into every repository; each tag gets its own manifest (an annotation makes the digests distinct), so the
 * listing carries `repositories × tags` different digests, as a real namespace would.
 */
export interface WideShape {
  namespace: string;
  repositories: number;
  tagsPerRepository: number;
}

export interface WideNamespace {
  repositories: string[];
  tagCount: number;
}

export function widePaths(shape: WideShape): { repositories: string[]; tags: string[] } {
  return {
    repositories: Array.from({ length: shape.repositories }, (_, i) => `r-${String(i).padStart(4, '0')}`),
    tags: Array.from({ length: shape.tagsPerRepository }, (_, i) => `t${i}`),
  };
}

/**
 * Pushes the wide namespace to `registryUrl` under `prefix` (the source namespace, or the mirror path at a
 * target), `parallel` requests at a time. The same shape under two prefixes gives byte-identical manifests.
 */
export async function buildWideNamespace(registryUrl: string, prefix: string, shape: WideShape, parallel = 32): Promise<WideNamespace> {
  const { repositories, tags } = widePaths(shape);
  const raw = tar([{ name: 'hello.txt', content: Buffer.from('tiny image\n') }]);
  const layerBytes = gzipSync(raw);
  const layer = { bytes: layerBytes, digest: sha256(layerBytes), diffId: sha256(raw) };
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.diffId] }, config: {} }),
  );
  const config = { bytes: configBytes, digest: sha256(configBytes) };
  const manifestFor = (repository: string, tag: string) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, size: config.bytes.length, digest: config.digest },
        layers: [{ mediaType: MEDIA_TYPES.ociLayer, size: layer.bytes.length, digest: layer.digest }],
        annotations: { 'gcrsync.bench.image': `${repository}:${tag}` },
      }),
    );

  const seed = `${prefix}/${repositories[0]!}`;
  await uploadBlob(registryUrl, seed, layer.bytes, layer.digest);
  await uploadBlob(registryUrl, seed, config.bytes, config.digest);
  const jobs = repositories.flatMap((repository) => tags.map((tag) => ({ repository, tag })));
  await eachLimit(repositories.slice(1), parallel, async (repository) => {
    await mountBlob(registryUrl, `${prefix}/${repository}`, layer.digest, seed);
    await mountBlob(registryUrl, `${prefix}/${repository}`, config.digest, seed);
  });
  await eachLimit(jobs, parallel, async ({ repository, tag }) => {
    await putManifest(registryUrl, `${prefix}/${repository}`, tag, manifestFor(repository, tag), MEDIA_TYPES.ociManifest);
  });
  return { repositories, tagCount: jobs.length };
}
