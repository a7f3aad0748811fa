import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * The test oracle for registry content: builds real images (valid gzip'd tar layers, config with diff_ids) and
 * pushes or inspects them with plain `fetch`, independent of gcrsync's own registry code.
 */
export interface RegistryEndpoint {
  url: string;
  credentials?: { username: string; password: string };
}

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

export interface PushOptions {
  /** `os/arch[/variant]`; more than one pushes each child then an index/list (default: one linux/amd64 image) */
  platforms?: string[];
  /** force an index/list even for a single platform */
  index?: boolean;
  format?: 'docker' | 'oci';
  /** a base layer shared by images: its file content, or a seed to derive it from */
  sharedLayer?: Buffer | string | number;
  /** size of the image's own layer payload before compression (incompressible bytes; default 64) */
  layerBytes?: number;
  /** makes the image unique; same seed + options → same digests (default: repository:tag) */
  seed?: string | number;
}

export interface PushedImage {
  /** digest of the manifest the tag points at (the index for multi-platform) */
  digest: string;
  mediaType: string;
  /** size in bytes of that manifest */
  size: number;
  /** child manifest digests of an index, in order of `platforms` */
  children?: string[];
  /** every blob pushed (configs and layers, shared ones included), deduplicated */
  blobs: string[];
  /** total bytes of all blobs and manifests */
  totalBytes: number;
  platforms: string[];
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

// ---------- tar + gzip layers ----------

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write('        ', 148); // checksum is computed with its own field as spaces
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return header;
}

/** A ustar archive of regular files (no directories needed for a layer of top-level files). */
export function tar(files: Array<{ name: string; content: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(tarHeader(file.name, file.content.length), file.content);
    const pad = (512 - (file.content.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Deterministic incompressible bytes, so layerBytes really costs that much to transfer. */
function noise(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < length; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, length - offset));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

interface Blob {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

interface Layer extends Blob {
  diffId: string;
}

function makeLayer(files: Array<{ name: string; content: Buffer }>, mediaType: string): Layer {
  const raw = tar(files);
  const bytes = gzipSync(raw);
  return { bytes, digest: sha256(bytes), diffId: sha256(raw), mediaType };
}

function sharedLayerFiles(shared: Buffer | string | number): Array<{ name: string; content: Buffer }> {
  const content = Buffer.isBuffer(shared) ? shared : Buffer.from(`shared base layer ${shared}\n`);
  return [{ name: 'base.txt', content }];
}

// ---------- HTTP with the registry challenge flow ----------

interface Session {
  endpoint: RegistryEndpoint;
  scope: string;
  authorization?: string;
}

function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([A-Za-z_]+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { scheme, params };
}

async function authorize(session: Session, challengeHeader: string): Promise<void> {
  const { scheme, params } = parseChallenge(challengeHeader);
  const { credentials } = session.endpoint;
  const basic = credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
  if (scheme === 'basic') {
    if (!basic) throw new Error(`${session.endpoint.url} wants Basic credentials and none were given`);
    session.authorization = basic;
    return;
  }
  if (scheme !== 'bearer' || !params.realm) throw new Error(`unsupported challenge: ${challengeHeader}`);
  const tokenUrl = new URL(params.realm);
  if (params.service) tokenUrl.searchParams.set('service', params.service);
  tokenUrl.searchParams.append('scope', session.scope);
  const res = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {} });
  if (!res.ok) throw new Error(`token request to ${params.realm} failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`token response from ${params.realm} has no token`);
  session.authorization = `Bearer ${token}`;
}

async function send(session: Session, path: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(path, session.endpoint.url);
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers);
    if (session.authorization) headers.set('authorization', session.authorization);
    const res = await fetch(url, { ...init, headers, redirect: 'follow' });
    if (res.status !== 401 || attempt > 0) return res;
    const challenge = res.headers.get('www-authenticate');
    await res.arrayBuffer();
    if (!challenge) return res;
    await authorize(session, challenge);
  }
}

async function expectStatus(res: Response, expected: number[], what: string): Promise<Response> {
  if (!expected.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
  }
  return res;
}

function session(endpoint: RegistryEndpoint, repository: string, actions = 'pull,push'): Session {
  return { endpoint, scope: `repository:${repository}:${actions}` };
}

/** One request to the registry, answering a Basic or Bearer challenge for `scope` (e.g. `registry:catalog:*`). */
export function registryRequest(endpoint: RegistryEndpoint, scope: string, path: string, init: RequestInit = {}): Promise<Response> {
  return send({ endpoint, scope }, path, init);
}

async function pushBlob(s: Session, repository: string, blob: Blob): Promise<void> {
  const head = await send(s, `/v2/${repository}/blobs/${blob.digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await expectStatus(
    await send(s, `/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } }),
    [202],
    `start upload to ${repository}`,
  );
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location') ?? '', s.endpoint.url);
  location.searchParams.set('digest', blob.digest);
  const put = await send(s, location.toString(), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.bytes.length) },
    body: blob.bytes,
  });
  await expectStatus(put, [201], `upload ${blob.digest} to ${repository}`);
  await put.arrayBuffer();
}

async function putManifestBytes(s: Session, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const res = await expectStatus(
    await send(s, `/v2/${repository}/manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes }),
    [201],
    `put manifest ${repository}:${reference}`,
  );
  await res.arrayBuffer();
  return res.headers.get('docker-content-digest') ?? sha256(bytes);
}

/** Uploads one blob to `repository` (skipped when the registry has it): for fixtures that build their own manifests. */
export async function pushBlobBytes(registry: RegistryEndpoint, repository: string, bytes: Buffer): Promise<string> {
  const blob = { bytes, digest: sha256(bytes), mediaType: 'application/octet-stream' };
  await pushBlob(session(registry, repository), repository, blob);
  return blob.digest;
}

/** PUTs manifest bytes as they are under a tag or digest; returns the registry's Docker-Content-Digest. */
export function pushManifestBytes(registry: RegistryEndpoint, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  return putManifestBytes(session(registry, repository), repository, reference, bytes, mediaType);
}

/** A gzip'd tar layer of `files`: its bytes, digest, and the digest of the uncompressed tar (the diff id). */
export function buildLayer(files: Array<{ name: string; content: Buffer }>): { bytes: Buffer; digest: string; diffId: string } {
  const { bytes, digest, diffId } = makeLayer(files, MEDIA_TYPES.dockerLayer);
  return { bytes, digest, diffId };
}

export { sha256 as sha256Digest };

// ---------- building and pushing ----------

function parsePlatform(platform: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = platform.split('/');
  if (!os || !architecture) throw new Error(`platform ${platform} is not os/arch[/variant]`);
  return { os, architecture, ...(variant && { variant }) };
}

function buildImage(platform: string, seed: string, options: PushOptions) {
  const oci = options.format === 'oci';
  const layerType = oci ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayer;
  const layers: Layer[] = [];
  if (options.sharedLayer !== undefined) layers.push(makeLayer(sharedLayerFiles(options.sharedLayer), layerType));
  layers.push(
    makeLayer(
      [
        { name: 'image.txt', content: Buffer.from(`gcrsync test image ${seed} ${platform}\n`) },
        { name: 'payload.bin', content: noise(`${seed} ${platform}`, options.layerBytes ?? 64) },
      ],
      layerType,
    ),
  );
  const config = Buffer.from(
    JSON.stringify({
      ...parsePlatform(platform),
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Labels: { 'gcrsync.test.seed': seed } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'gcrsync test harness' })),
    }),
  );
  const configBlob: Blob = { bytes: config, digest: sha256(config), mediaType: oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig };
  const mediaType = oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
  const descriptor = (b: Blob) => ({ mediaType: b.mediaType, size: b.bytes.length, digest: b.digest });
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: descriptor(configBlob), layers: layers.map(descriptor) }, null, 3),
  );
  return { blobs: [configBlob, ...layers], manifest, mediaType, digest: sha256(manifest) };
}

/**
 * Builds a real image (or one image per platform plus an index) and pushes it to `repository:tag` through the
 * registry HTTP API, answering Basic or Bearer challenges with `registry.credentials`.
 */
export async function pushTestImage(registry: RegistryEndpoint, repository: string, tag: string, options: PushOptions = {}): Promise<PushedImage> {
  const platforms = options.platforms ?? ['linux/amd64'];
  if (platforms.length === 0) throw new Error('platforms must not be empty');
  const seed = String(options.seed ?? `${repository}:${tag}`);
  const s = session(registry, repository);
  const images = platforms.map((platform) => buildImage(platform, seed, options));
  const blobDigests = new Set<string>();
  let totalBytes = 0;
  for (const image of images) {
    for (const blob of image.blobs) {
      if (blobDigests.has(blob.digest)) continue;
      await pushBlob(s, repository, blob);
      blobDigests.add(blob.digest);
      totalBytes += blob.bytes.length;
    }
    totalBytes += image.manifest.length;
  }
  const multi = platforms.length > 1 || options.index === true;
  if (!multi) {
    const image = images[0]!;
    await putManifestBytes(s, repository, tag, image.manifest, image.mediaType);
    return { digest: image.digest, mediaType: image.mediaType, size: image.manifest.length, blobs: [...blobDigests], totalBytes, platforms };
  }
  for (const image of images) await putManifestBytes(s, repository, image.digest, image.manifest, image.mediaType);
  const indexType = options.format === 'oci' ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.dockerList;
  const index = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: indexType,
        manifests: images.map((image, i) => ({
          mediaType: image.mediaType,
          size: image.manifest.length,
          digest: image.digest,
          platform: parsePlatform(platforms[i]!),
        })),
      },
      null,
      3,
    ),
  );
  await putManifestBytes(s, repository, tag, index, indexType);
  return {
    digest: sha256(index),
    mediaType: indexType,
    size: index.length,
    children: images.map((image) => image.digest),
    blobs: [...blobDigests],
    totalBytes: totalBytes + index.length,
    platforms,
  };
}

// ---------- inspection helpers for assertions ----------

/** `Docker-Content-Digest` of `repository:ref` (HEAD with the full Accept list), or undefined when it does not exist. */
export async function headDigest(registry: RegistryEndpoint, repository: string, ref: string): Promise<string | undefined> {
  const res = await send(session(registry, repository, 'pull'), `/v2/${repository}/manifests/${ref}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (res.status === 404) return undefined;
  await expectStatus(res, [200], `HEAD ${repository}:${ref}`);
  const digest = res.headers.get('docker-content-digest');
  if (!digest) throw new Error(`HEAD ${repository}:${ref} answered without Docker-Content-Digest`);
  return digest;
}

/** The manifest bytes and media type of `repository:ref`, with the digest computed from the bytes. */
export async function getManifest(registry: RegistryEndpoint, repository: string, ref: string): Promise<{ bytes: Buffer; mediaType: string; digest: string; json: unknown }> {
  const res = await expectStatus(
    await send(session(registry, repository, 'pull'), `/v2/${repository}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT } }),
    [200],
    `GET manifest ${repository}:${ref}`,
  );
  const bytes = Buffer.from(await res.arrayBuffer());
  return { bytes, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(), digest: sha256(bytes), json: JSON.parse(bytes.toString('utf8')) };
}

/** Does the blob exist in `repository`? */
export async function hasBlob(registry: RegistryEndpoint, repository: string, digest: string): Promise<boolean> {
  const res = await send(session(registry, repository, 'pull'), `/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  return res.status === 200;
}

/** Every tag of `repository` (follows Link pagination); [] when the repository does not exist. */
export async function listTags(registry: RegistryEndpoint, repository: string): Promise<string[]> {
  const s = session(registry, repository, 'pull');
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list`;
  while (path) {
    const res = await send(s, path);
    if (res.status === 404) return [];
    await expectStatus(res, [200], `list tags of ${repository}`);
    const body = (await res.json()) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    const link = res.headers.get('link');
    path = link ? /<([^>]+)>/.exec(link)?.[1] : undefined;
  }
  return tags.sort();
}

/** Points another tag at an existing manifest (same bytes, so same digest). */
export async function tagManifest(registry: RegistryEndpoint, repository: string, from: string, tag: string): Promise<string> {
  const { bytes, mediaType } = await getManifest(registry, repository, from);
  return putManifestBytes(session(registry, repository), repository, tag, bytes, mediaType);
}

/** Deletes a manifest by digest (the test registries run with deletes enabled). */
export async function deleteManifest(registry: RegistryEndpoint, repository: string, digest: string): Promise<void> {
  const res = await send(session(registry, repository, 'pull,push,delete'), `/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  await expectStatus(res, [202], `DELETE ${repository}@${digest}`);
  await res.arrayBuffer();
}
