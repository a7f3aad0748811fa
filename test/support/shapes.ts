import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FrontAnswer } from './api-front.js';
import { buildLayer, getManifest, MEDIA_TYPES, pushBlobBytes, pushManifestBytes, sha256Digest, type RegistryEndpoint } from './images.js';

/**
 * The image shapes real namespaces hold beyond plain images (issue 12): Windows children with foreign layers inside
 * an index, cosign signatures and attestations under digest tags, OCI 1.1 artifacts with a `subject`, and the
 * referrers fallback tag. Each is built the way its tool writes it and pushed to a real registry.
 */
export const FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const COSIGN_SIGNATURE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const SPDX = 'application/spdx+json';

export interface Subject {
  digest: string;
  mediaType: string;
  size: number;
}

const descriptor = (mediaType: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({ mediaType, size: bytes.length, digest: sha256Digest(bytes), ...extra });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

async function pushJsonManifest(registry: RegistryEndpoint, repository: string, reference: string | undefined, body: unknown): Promise<Subject> {
  const bytes = json(body);
  const mediaType = (body as { mediaType: string }).mediaType;
  const digest = sha256Digest(bytes);
  await pushManifestBytes(registry, repository, reference ?? digest, bytes, mediaType);
  return { digest, mediaType, size: bytes.length };
}

/** A Docker image manifest over `layers` (blobs pushed first); `foreign` layers are referenced by url only. */
async function pushDockerImage(
  registry: RegistryEndpoint,
  repository: string,
  platform: Record<string, string>,
  layers: Array<{ bytes: Buffer; diffId: string; foreignUrl?: string }>,
): Promise<Subject> {
  for (const layer of layers) if (layer.foreignUrl === undefined) await pushBlobBytes(registry, repository, layer.bytes);
  const config = json({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) }, config: {} });
  await pushBlobBytes(registry, repository, config);
  return pushJsonManifest(registry, repository, undefined, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: descriptor(MEDIA_TYPES.dockerConfig, config),
    layers: layers.map((layer) =>
      layer.foreignUrl === undefined
        ? descriptor(MEDIA_TYPES.dockerLayer, layer.bytes)
        : descriptor(FOREIGN_LAYER, layer.bytes, { urls: [layer.foreignUrl] }),
    ),
  });
}

export interface ForeignIndex {
  digest: string;
  linux: string;
  windows: string;
  /** the foreign (Windows base) layer: not in the image's repository, referenced by url in the manifest */
  foreignLayer: string;
}

/**
 * An old multi-arch image with a Windows child (a `pause` 3.x tag): a Docker manifest list of a linux/amd64 image and
 * a windows/amd64 image whose base layer is foreign. As with registry.k8s.io's pause images, the repository does not
 * hold the foreign bytes: its `urls` point at another registry's blob (here `mcr/windows/nanoserver` of the same
 * registry, standing in for mcr.microsoft.com). The registry must allow the url (startRegistry's `allowLayerUrls`).
 */
export async function pushForeignLayerIndex(registry: RegistryEndpoint, repository: string, tag: string): Promise<ForeignIndex> {
  const base = buildLayer([{ name: 'Files/windows-base.txt', content: Buffer.from(`windows base of ${repository}\n`) }]);
  const own = buildLayer([{ name: 'Files/pause.exe', content: Buffer.from(`pause for windows ${repository}:${tag}\n`) }]);
  const linuxLayer = buildLayer([{ name: 'pause', content: Buffer.from(`pause for linux ${repository}:${tag}\n`) }]);
  await pushBlobBytes(registry, 'mcr/windows/nanoserver', base.bytes);
  const windows = await pushDockerImage(registry, repository, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1879' }, [
    { ...base, foreignUrl: new URL(`/v2/mcr/windows/nanoserver/blobs/${base.digest}`, registry.url).href },
    own,
  ]);
  const linux = await pushDockerImage(registry, repository, { os: 'linux', architecture: 'amd64' }, [linuxLayer]);
  const index = await pushJsonManifest(registry, repository, tag, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerList,
    manifests: [
      { ...linux, platform: { os: 'linux', architecture: 'amd64' } },
      { ...windows, platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1879' } },
    ],
  });
  return { digest: index.digest, linux: linux.digest, windows: windows.digest, foreignLayer: base.digest };
}

/** `sha256:<hex>` → the cosign tag `sha256-<hex>.<suffix>`, or the referrers fallback tag without a suffix. */
export function digestTag(digest: string, suffix?: string): string {
  return `${digest.replace(':', '-')}${suffix === undefined ? '' : `.${suffix}`}`;
}

/** A cosign-layout manifest: an OCI image whose one layer is the payload, tagged `sha256-<hex>.<suffix>`. */
async function pushCosignManifest(registry: RegistryEndpoint, repository: string, subject: Subject, suffix: string, layerType: string, payload: Buffer, annotations: Record<string, string>): Promise<Subject> {
  const config = json({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: [sha256Digest(payload)] },
    config: {},
  });
  await pushBlobBytes(registry, repository, payload);
  await pushBlobBytes(registry, repository, config);
  return pushJsonManifest(registry, repository, digestTag(subject.digest, suffix), {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: descriptor(MEDIA_TYPES.ociConfig, config),
    layers: [descriptor(layerType, payload, { annotations })],
  });
}

export interface Attached {
  signature: Subject;
  attestation: Subject;
  /** an OCI 1.1 SBOM artifact whose subject is the image, untagged */
  artifact: Subject;
}

/** Signs `subject` as cosign does (`.sig`, `.att`) and attaches an OCI 1.1 SBOM artifact to it (pushed by digest). */
export async function attachSignatures(registry: RegistryEndpoint, repository: string, subject: Subject): Promise<Attached> {
  const simpleSigning = json({
    critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': subject.digest }, type: 'cosign container image signature' },
    optional: null,
  });
  const signature = await pushCosignManifest(registry, repository, subject, 'sig', COSIGN_SIGNATURE, simpleSigning, {
    'dev.cosignproject.cosign/signature': Buffer.from(`signature over ${subject.digest}`).toString('base64'),
  });
  const envelope = json({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(`{"subject":"${subject.digest}"}`).toString('base64'), signatures: [] });
  const attestation = await pushCosignManifest(registry, repository, subject, 'att', DSSE_ENVELOPE, envelope, { predicateType: 'https://slsa.dev/provenance/v0.2' });
  const artifact = await pushArtifact(registry, repository, subject, `sbom of ${subject.digest}`);
  return { signature, attestation, artifact };
}

/** A cosign-layout SBOM (`sha256-<hex>.sbom`), attached after the image was first mirrored. */
export function attachSbom(registry: RegistryEndpoint, repository: string, subject: Subject): Promise<Subject> {
  return pushCosignManifest(registry, repository, subject, 'sbom', SPDX, Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: subject.digest })), {});
}

/** An OCI 1.1 artifact (empty config, one SPDX layer) whose `subject` is `subject`, pushed by digest. */
export async function pushArtifact(registry: RegistryEndpoint, repository: string, subject: Subject, content: string): Promise<Subject & { artifactType: string }> {
  const empty = Buffer.from('{}');
  const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: content }));
  await pushBlobBytes(registry, repository, empty);
  await pushBlobBytes(registry, repository, sbom);
  const pushed = await pushJsonManifest(registry, repository, undefined, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: SPDX,
    config: descriptor(OCI_EMPTY, empty),
    layers: [descriptor(SPDX, sbom)],
    subject,
  });
  return { ...pushed, artifactType: SPDX };
}

/** What a registry without the referrers API keeps instead: the fallback tag `sha256-<hex>`, an index of the referrers. */
export async function pushFallbackTag(registry: RegistryEndpoint, repository: string, subject: Subject, referrers: Array<Subject & { artifactType: string }>): Promise<Subject> {
  return pushJsonManifest(registry, repository, digestTag(subject.digest), { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: referrers });
}

const REFERRERS_ROUTE = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/;

/**
 * The OCI 1.1 referrers API distribution 2.8 lacks, computed from a real registry's content: every manifest revision
 * its storage holds for the repository (untagged ones included, which its API cannot list), filtered by `subject` and
 * by the `artifactType` query, `pageSize` at a time with a `Link` to the next page (the spec allows registries to page).
 * Only `repositories` get the API; others answer 404 as registries without it do.
 */
export async function referrersAnswer(
  upstream: RegistryEndpoint,
  storageDir: string,
  repositories: readonly string[],
  url: URL,
  pageSize = 100,
): Promise<FrontAnswer | undefined> {
  const match = REFERRERS_ROUTE.exec(url.pathname);
  if (!match) return undefined;
  const [, repository, digest] = match as unknown as [string, string, string];
  if (!repositories.includes(repository)) return { status: 404, body: '404 page not found\n' };
  const revisions = join(storageDir, 'docker/registry/v2/repositories', repository, '_manifests/revisions/sha256');
  const hexes = await readdir(revisions).catch(() => [] as string[]);
  const wanted = url.searchParams.get('artifactType');
  const manifests: unknown[] = [];
  for (const hex of hexes.sort()) {
    const manifest = await getManifest(upstream, repository, `sha256:${hex}`);
    const body = manifest.json as { subject?: { digest?: string }; artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string> };
    if (body.subject?.digest !== digest) continue;
    const artifactType = body.artifactType ?? body.config?.mediaType;
    if (wanted !== null && artifactType !== wanted) continue;
    manifests.push({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, ...(artifactType && { artifactType }), ...(body.annotations && { annotations: body.annotations }) });
  }
  const page = Number(url.searchParams.get('page') ?? '1');
  const next = new URL(url.pathname, url);
  next.searchParams.set('page', String(page + 1));
  if (wanted !== null) next.searchParams.set('artifactType', wanted);
  const more = page * pageSize < manifests.length;
  return {
    headers: {
      'content-type': MEDIA_TYPES.ociIndex,
      ...(wanted !== null && { 'oci-filters-applied': 'artifactType' }),
      ...(more && { link: `<${next.pathname}${next.search}>; rel="next"` }),
    },
    body: { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: manifests.slice((page - 1) * pageSize, page * pageSize) },
  };
}
