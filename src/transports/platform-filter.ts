import { GcrsyncError } from '../errors.js';
import type { Descriptor, Platform } from '../registry/schemas.js';

/**
 * Which entries of an index a platform filter keeps. The source index is copied byte for byte when nothing is
 * dropped; only a filter that drops entries makes a new index (and so a new digest).
 */

// BuildKit attaches provenance/SBOM manifests to an index as `unknown/unknown` entries pointing at their image.
const REFERENCE_TYPE = 'vnd.docker.reference.type';
const REFERENCE_DIGEST = 'vnd.docker.reference.digest';

export function formatPlatform(platform: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  const text = `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
  // one string per platform, not one per image: the record and report line of every tag of a namespace keep it
  const known = formatted.get(text);
  if (known !== undefined) return known;
  if (formatted.size < FORMATTED_KEPT) formatted.set(text, text);
  return text;
}

const FORMATTED_KEPT = 1000;
const formatted = new Map<string, string>();

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

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const { os, architecture, variant } = json;
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined;
  return { os, architecture, ...(typeof variant === 'string' && variant !== '' && { variant }) };
}
