import { GcrsyncError } from '../errors.js';
import { isValidDigest } from '../ref/reference.js';

/**
 * What the registry transport needs to know about a manifest: which blobs or child manifests it references and on
 * which platforms. Manifest bytes are untrusted input (their digests become URL paths), so they are parsed as
 * `unknown` and every field used is checked. The bytes themselves are never re-serialised for a digest-preserving
 * copy; only a platform-filtered index is written anew.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type ManifestContent =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'schema1'; mediaType: string };

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

// BuildKit attaches provenance/SBOM manifests to an index as `unknown/unknown` entries pointing at their image.
const REFERENCE_TYPE = 'vnd.docker.reference.type';
const REFERENCE_DIGEST = 'vnd.docker.reference.digest';

export function isSchema1MediaType(mediaType: string): boolean {
  return SCHEMA1_TYPES.has(mediaType);
}

/** Layers whose bytes live outside the registry (Windows base layers, OCI non-distributable layers). */
export function isNonDistributableMediaType(mediaType: string): boolean {
  return mediaType.includes('.foreign.') || mediaType.includes('nondistributable');
}

function hostile(ref: string, why: string): GcrsyncError {
  return new GcrsyncError('HOSTILE_RESPONSE', `manifest of ${ref} ${why}`, { ref });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsePlatform(value: unknown): Platform | undefined {
  if (!isRecord(value)) return undefined;
  const { os, architecture, variant } = value;
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined;
  return { os, architecture, ...(typeof variant === 'string' && variant !== '' && { variant }) };
}

function parseAnnotations(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function parseDescriptor(value: unknown, ref: string, where: string): Descriptor {
  if (!isRecord(value)) throw hostile(ref, `has a ${where} that is not an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw hostile(ref, `has a ${where} without a mediaType`);
  if (typeof digest !== 'string' || !isValidDigest(digest)) throw hostile(ref, `has a ${where} whose digest is not algorithm:hex`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw hostile(ref, `has a ${where} with an invalid size`);
  const platform = parsePlatform(value.platform);
  const annotations = parseAnnotations(value.annotations);
  return { mediaType, digest, size, ...(platform && { platform }), ...(annotations && { annotations }) };
}

/** The media type without parameters (`; charset=utf-8`), lower-cased. */
export function bareMediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/**
 * Parses manifest bytes fetched with `contentType`. A `mediaType` field in the body must agree with the
 * Content-Type when the registry sent a specific one (distribution-spec §Pulling manifests).
 */
export function parseManifest(bytes: Buffer, contentType: string, ref: string): ManifestContent {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw hostile(ref, 'is not JSON');
  }
  if (!isRecord(json)) throw hostile(ref, 'is not a JSON object');
  const headerType = bareMediaType(contentType);
  const bodyType = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (json.schemaVersion === 1 || isSchema1MediaType(headerType) || (bodyType !== undefined && isSchema1MediaType(bodyType))) {
    return { kind: 'schema1', mediaType: bodyType ?? headerType };
  }
  const generic = headerType === '' || headerType === 'application/json' || headerType === 'application/octet-stream';
  if (bodyType !== undefined && !generic && bodyType !== headerType) {
    throw hostile(ref, `says mediaType ${JSON.stringify(bodyType)} but was served as ${JSON.stringify(headerType)}`);
  }
  const mediaType = bodyType ?? headerType;
  if (Array.isArray(json.manifests)) {
    return { kind: 'index', mediaType, manifests: json.manifests.map((m, i) => parseDescriptor(m, ref, `manifests[${i}]`)) };
  }
  if (isRecord(json.config) && Array.isArray(json.layers)) {
    return {
      kind: 'image',
      mediaType,
      config: parseDescriptor(json.config, ref, 'config'),
      layers: json.layers.map((l, i) => parseDescriptor(l, ref, `layers[${i}]`)),
    };
  }
  throw new GcrsyncError('UNSUPPORTED', `${ref} is neither an image manifest nor an index (mediaType ${JSON.stringify(mediaType)})`, { ref });
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

/** Parses a `--platform` value `os/arch[/variant]`. */
export function parsePlatformFilter(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new GcrsyncError('USAGE', `platform ${JSON.stringify(text)} is not os/arch[/variant]`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture, ...(variant !== undefined && { variant }) };
}

/** A filter without a variant accepts every variant (`linux/arm` keeps `linux/arm/v6` and `linux/arm/v7`). */
export function platformMatches(filters: readonly Platform[], platform: Platform): boolean {
  return filters.some(
    (f) => f.os === platform.os && f.architecture === platform.architecture && (f.variant === undefined || f.variant === platform.variant),
  );
}

/** BuildKit provenance/SBOM entries: not a platform of their own. */
export function isAttestation(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.[REFERENCE_TYPE] === 'attestation-manifest' ||
    (descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown')
  );
}

/**
 * The index entries to keep for `filters` (empty = all). Attestations follow the image they describe, so a kept
 * platform keeps its provenance and an attestation of a dropped platform (or of nothing named) goes with it.
 */
export function selectChildren(manifests: readonly Descriptor[], filters: readonly Platform[]): Descriptor[] {
  if (filters.length === 0) return [...manifests];
  const kept = new Set(
    manifests
      .filter((m) => !isAttestation(m) && m.platform !== undefined && platformMatches(filters, m.platform))
      .map((m) => m.digest),
  );
  return manifests.filter((m) => {
    if (!isAttestation(m)) return kept.has(m.digest);
    const subject = m.annotations?.[REFERENCE_DIGEST];
    return subject !== undefined && kept.has(subject);
  });
}

/** `os/arch[/variant]` of every image entry of an index (attestations are not platforms). */
export function indexPlatforms(manifests: readonly Descriptor[]): string[] {
  const out: string[] = [];
  for (const m of manifests) {
    if (isAttestation(m) || m.platform === undefined) continue;
    const text = formatPlatform(m.platform);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * A new index holding only the entries of `original` whose digest is in `keep`, every other field untouched.
 * Its digest differs from the source's; callers must report that.
 */
export function filterIndexBytes(original: Buffer, keep: ReadonlySet<string>): Buffer {
  const json = JSON.parse(original.toString('utf8')) as unknown;
  if (!isRecord(json) || !Array.isArray(json.manifests)) throw new Error('filterIndexBytes needs an index');
  const manifests = json.manifests.filter((m) => isRecord(m) && typeof m.digest === 'string' && keep.has(m.digest));
  return Buffer.from(JSON.stringify({ ...json, manifests }, null, 3));
}

/** os/architecture/variant of an image config blob (Docker and OCI configs share these fields). */
export function configPlatform(bytes: Buffer): Platform | undefined {
  try {
    return parsePlatform(JSON.parse(bytes.toString('utf8')));
  } catch {
    return undefined;
  }
}
