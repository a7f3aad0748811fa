import * as z from 'zod';
import { compact, digest, hostile, listOf, optional, parseAnswer } from './answer.js';
import { isValidDigest } from '../ref/reference.js';
import {
  DOCKER_SCHEMA1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isSchema1,
} from './media-types.js';

/**
 * What registries answer (manifests, tag lists, catalogs, Google's listing extension), as zod schemas: each
 * parser takes `unknown` (or bytes), returns a typed value, and throws HOSTILE_RESPONSE naming `where` when the
 * answer is not what the protocol says.
 */

const platform = z
  .object({
    os: z.string(),
    architecture: z.string(),
    variant: optional(z.string()),
    'os.version': optional(z.string()),
    'os.features': optional(z.array(z.string())),
  })
  .transform(compact);
export type Platform = z.output<typeof platform>;

const descriptor = z
  .object({
    mediaType: z.string().min(1),
    digest,
    size: z.int().min(0),
    urls: optional(z.array(z.string())),
    annotations: optional(z.record(z.string(), z.string())),
    artifactType: optional(z.string()),
    platform: optional(platform),
  })
  .transform(compact);
export type Descriptor = z.output<typeof descriptor>;

const imageManifest = z.object({ config: descriptor, layers: listOf(descriptor), subject: optional(descriptor), artifactType: optional(z.string()) });
const imageIndex = z.object({ manifests: z.array(descriptor), subject: optional(descriptor) });
/** Docker schema1: layer digests and their v1Compatibility history, newest first (its digest is not sha256 of the body). */
const schema1 = z
  .object({
    fsLayers: z.preprocess((v) => (Array.isArray(v) ? v : []), z.array(z.object({ blobSum: digest }))),
    history: z.preprocess((v) => (Array.isArray(v) ? v : []), z.array(z.object({ v1Compatibility: z.string() }))),
  })
  .refine((m) => m.history.length === m.fsLayers.length, { error: (issue) => {
    const m = issue.input as { fsLayers: unknown[]; history: unknown[] };
    return `schema1 manifest has ${m.fsLayers.length} fsLayers but ${m.history.length} history entries`;
  } });

export interface ImageManifest extends z.output<typeof imageManifest> {
  kind: 'manifest';
  mediaType: string;
}

export interface ImageIndex extends z.output<typeof imageIndex> {
  kind: 'index';
  mediaType: string;
}

/** Docker schema1: copied only by converting it (transports/schema1.ts). */
export interface Schema1Manifest {
  kind: 'schema1';
  mediaType: string;
  /** layer digests, newest first */
  blobSums: string[];
  /** each layer's `v1Compatibility` JSON text, newest first, one per blobSum */
  history: string[];
}

export type Manifest = ImageManifest | ImageIndex | Schema1Manifest;

const manifestBody = z.looseObject({ mediaType: optional(z.string()), schemaVersion: z.unknown().optional() });

function declaredMediaType(body: z.output<typeof manifestBody>, contentType: string | undefined, where: string): string {
  const field = body.mediaType;
  if (field !== undefined && isManifestMediaType(contentType) && field !== contentType) {
    // distribution-spec §Pulling manifests: the field MUST match Content-Type
    throw hostile(where, `manifest says mediaType ${field} but was served as ${contentType}`);
  }
  if (field !== undefined) return field;
  if (isManifestMediaType(contentType)) return contentType!;
  if (body.schemaVersion === 1) return DOCKER_SCHEMA1_SIGNED;
  if (Array.isArray(body.manifests)) return OCI_INDEX;
  if (body.config !== undefined) return OCI_MANIFEST;
  throw hostile(where, 'is not a recognisable manifest');
}

// the bytes of a manifest GET are read twice, for their media type and then for their content: parsed once
const parsedManifests = new WeakMap<Buffer, z.output<typeof manifestBody>>();

function manifestJson(bytes: Buffer, where: string): z.output<typeof manifestBody> {
  const known = parsedManifests.get(bytes);
  if (known !== undefined) return known;
  const body = parseManifestJson(bytes, where);
  parsedManifests.set(bytes, body);
  return body;
}

function parseManifestJson(bytes: Buffer, where: string): z.output<typeof manifestBody> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw hostile(where, 'manifest is not JSON');
  }
  return parseAnswer(manifestBody, parsed, where, 'manifest');
}

/** The media type of manifest bytes served with `contentType` (the body's field must agree with the header). */
export function manifestMediaType(bytes: Buffer, contentType: string | undefined, where: string): string {
  return declaredMediaType(manifestJson(bytes, where), contentType, where);
}

/** A descriptor of the three fields alone, read by hand: anything else (or anything off) goes through the schema. */
function plainDescriptor(value: unknown): Descriptor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  let fields = 0;
  for (const key in value) {
    if (key !== 'mediaType' && key !== 'digest' && key !== 'size') return undefined;
    fields++;
  }
  const { mediaType, digest: named, size } = value as Record<string, unknown>;
  if (fields !== 3 || typeof mediaType !== 'string' || mediaType === '' || typeof named !== 'string' || !isValidDigest(named)) return undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0) return undefined;
  return { mediaType, digest: named, size: size as number };
}

/**
 * The image manifest nearly every registry serves (a config and layers of plain descriptors, no subject or artifact
 * type), read by hand to the schema's result: the schema took about a tenth of a first sync's CPU for small images.
 * Undefined for anything else, which the schema then reads (and names what is wrong with it).
 */
function plainImageManifest(body: Record<string, unknown>): Pick<ImageManifest, 'config' | 'layers'> | undefined {
  if (body.subject !== undefined && body.subject !== null) return undefined;
  if (body.artifactType !== undefined && body.artifactType !== null) return undefined;
  const config = plainDescriptor(body.config);
  if (config === undefined || !Array.isArray(body.layers)) return undefined;
  const layers: Descriptor[] = [];
  for (const entry of body.layers as unknown[]) {
    const layer = plainDescriptor(entry);
    if (layer === undefined) return undefined;
    layers.push(layer);
  }
  return { config, layers };
}

/** Parses manifest bytes served with `contentType` into an image manifest, an index, or a schema1 marker. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): Manifest {
  const body = manifestJson(bytes, where);
  const mediaType = declaredMediaType(body, contentType, where);
  if (isSchema1(mediaType) || body.schemaVersion === 1) {
    const parsed = parseAnswer(schema1, body, where, 'manifest');
    return { kind: 'schema1', mediaType, blobSums: parsed.fsLayers.map((layer) => layer.blobSum), history: parsed.history.map((entry) => entry.v1Compatibility) };
  }
  if (body.schemaVersion !== 2) throw hostile(where, `manifest schemaVersion ${JSON.stringify(body.schemaVersion)} is not 2`);
  if (isIndexMediaType(mediaType)) return { kind: 'index', mediaType, ...compact(parseAnswer(imageIndex, body, where, 'manifest')) };
  if (isImageManifestMediaType(mediaType)) return { kind: 'manifest', mediaType, ...(plainImageManifest(body) ?? compact(parseAnswer(imageManifest, body, where, 'manifest'))) };
  throw hostile(where, `unsupported manifest mediaType ${mediaType}`);
}

const tagList = z.object({ name: optional(z.string()), tags: listOf(z.string()) }).transform(compact);

/** `{"name":…,"tags":[…]}`; `tags: null` (an empty repository) is an empty list. */
export function parseTagList(body: unknown, where: string): z.output<typeof tagList> {
  return parseAnswer(tagList, body, where, 'tag list');
}

const catalog = z.object({ repositories: listOf(z.string()) });

export function parseCatalog(body: unknown, where: string): string[] {
  return parseAnswer(catalog, body, where, 'catalog').repositories;
}

// numbers in the extension are decimal strings, but tolerate plain numbers
const decimal = optional(z.union([z.number().finite().transform(String), z.string().regex(/^-?\d+$/, 'is not a decimal number')], { error: 'is not a decimal number' }));

const googleManifestInfo = z
  .object({ mediaType: optional(z.string()), tag: listOf(z.string()), timeUploadedMs: decimal, timeCreatedMs: decimal, imageSizeBytes: decimal })
  .transform(compact);
export type GoogleManifestInfo = z.output<typeof googleManifestInfo>;

/** gcr.io / Artifact Registry `tags/list` with the listing extension (§2.1); exported for the test of asGoogleTagList. */
export const googleTagList = z.object({
  name: optional(z.string()).transform((v) => v ?? ''),
  child: listOf(z.string()),
  tags: listOf(z.string()),
  manifest: optional(z.record(digest, googleManifestInfo)).transform((v) => v ?? {}),
});
export type GoogleTagList = z.output<typeof googleTagList>;

const extensionFields = z.looseObject({ child: z.unknown().optional(), manifest: z.unknown().optional() });

/**
 * A tag list with Google's `child`/`manifest` extension, or undefined when the answer has neither field (a plain
 * distribution registry; the caller falls back to standard listing).
 */
export function parseGoogleTagList(body: unknown, where: string): GoogleTagList | undefined {
  const fields = parseAnswer(extensionFields, body, where, 'tag list');
  if (fields.child === undefined && fields.manifest === undefined) return undefined;
  return asGoogleTagList(body as Record<string, unknown>) ?? parseAnswer(googleTagList, body, where, 'tag list');
}

/**
 * What googleTagList makes of an answer already in the shape Google sends, built by hand: the schema allocates
 * several objects per entry, 0.6 CPU-seconds for the 2 000 answers of a 50 000-tag namespace. Anything else
 * (undefined here) goes through the schema, to be normalized or refused with the reason.
 */
function asGoogleTagList(body: Record<string, unknown>): GoogleTagList | undefined {
  const { name, child, tags, manifest } = body;
  if ((name !== undefined && name !== null && typeof name !== 'string') || !isTextList(child) || !isTextList(tags)) return undefined;
  const infos: GoogleTagList['manifest'] = {};
  if (manifest !== undefined && manifest !== null) {
    if (!isPlainObject(manifest)) return undefined;
    for (const key of Object.keys(manifest)) {
      const info = isValidDigest(key) ? asManifestInfo(manifest[key]) : undefined;
      if (info === undefined) return undefined;
      infos[key] = info;
    }
  }
  return { name: name ?? '', child: child ?? [], tags: tags ?? [], manifest: infos };
}

function asManifestInfo(value: unknown): GoogleManifestInfo | undefined {
  if (!isPlainObject(value)) return undefined;
  const { mediaType, tag } = value;
  if ((mediaType !== undefined && mediaType !== null && typeof mediaType !== 'string') || !isTextList(tag)) return undefined;
  // the schema's order of fields, absent ones left out
  const info: GoogleManifestInfo = typeof mediaType === 'string' ? { mediaType, tag: tag ?? [] } : { tag: tag ?? [] };
  for (const field of ['timeUploadedMs', 'timeCreatedMs', 'imageSizeBytes'] as const) {
    const decimal = asDecimal(value[field]);
    if (decimal === null) return undefined;
    if (decimal !== undefined) info[field] = decimal;
  }
  return info;
}

/** `decimal`'s reading: the decimal string, undefined when absent, null when the schema would refuse it. */
function asDecimal(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  return typeof value === 'string' && /^-?\d+$/.test(value) ? value : null;
}

function isTextList(value: unknown): value is string[] | undefined | null {
  return value === undefined || value === null || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
