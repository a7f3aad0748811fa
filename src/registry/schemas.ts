import { GcrsyncError } from '../errors.js';
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
 * Validators for what registries answer: each takes `unknown` (or bytes), returns a typed value, and throws
 * HOSTILE_RESPONSE naming `where` (a redacted URL or repository) when the answer is not what the protocol says.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  subject?: Descriptor;
}

/** Docker schema1: recognised so callers can report it as uncopyable; its digest is not sha256 of the body. */
export interface Schema1Manifest {
  kind: 'schema1';
  mediaType: string;
  blobSums: string[];
}

export type Manifest = ImageManifest | ImageIndex | Schema1Manifest;

export interface GoogleManifestInfo {
  mediaType?: string;
  tag: string[];
  timeUploadedMs?: string;
  timeCreatedMs?: string;
  imageSizeBytes?: string;
}

/** gcr.io / Artifact Registry `tags/list` with the listing extension (§2.1). */
export interface GoogleTagList {
  name: string;
  child: string[];
  tags: string[];
  manifest: Record<string, GoogleManifestInfo>;
}

function hostile(where: string, why: string): GcrsyncError {
  return new GcrsyncError('HOSTILE_RESPONSE', `${where}: ${why}`, { ref: where });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function record(value: unknown, where: string, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw hostile(where, `${what} is not a JSON object`);
  return value;
}

function stringArray(value: unknown, where: string, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw hostile(where, `${what} is not a list of strings`);
  return value as string[];
}

function optionalString(value: unknown, where: string, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw hostile(where, `${what} is not a string`);
  return value;
}

function digest(value: unknown, where: string, what: string): string {
  if (typeof value !== 'string' || !isValidDigest(value)) throw hostile(where, `${what} is not a valid digest`);
  return value;
}

function platform(value: unknown, where: string, what: string): Platform {
  const p = record(value, where, what);
  if (typeof p.os !== 'string' || typeof p.architecture !== 'string') throw hostile(where, `${what} lacks os/architecture`);
  const variant = optionalString(p.variant, where, `${what}.variant`);
  const osVersion = optionalString(p['os.version'], where, `${what}.os.version`);
  const osFeatures = p['os.features'] === undefined ? undefined : stringArray(p['os.features'], where, `${what}.os.features`);
  return {
    os: p.os,
    architecture: p.architecture,
    ...(variant !== undefined && { variant }),
    ...(osVersion !== undefined && { 'os.version': osVersion }),
    ...(osFeatures !== undefined && { 'os.features': osFeatures }),
  };
}

export function parseDescriptor(value: unknown, where: string, what = 'descriptor'): Descriptor {
  const d = record(value, where, what);
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw hostile(where, `${what} has no mediaType`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw hostile(where, `${what} has no valid size`);
  const urls = d.urls === undefined ? undefined : stringArray(d.urls, where, `${what}.urls`);
  let annotations: Record<string, string> | undefined;
  if (d.annotations !== undefined && d.annotations !== null) {
    const a = record(d.annotations, where, `${what}.annotations`);
    if (!Object.values(a).every((v) => typeof v === 'string')) throw hostile(where, `${what}.annotations has non-string values`);
    annotations = a as Record<string, string>;
  }
  const artifactType = optionalString(d.artifactType, where, `${what}.artifactType`);
  return {
    mediaType: d.mediaType,
    digest: digest(d.digest, where, `${what}.digest`),
    size: d.size,
    ...(urls !== undefined && { urls }),
    ...(annotations !== undefined && { annotations }),
    ...(artifactType !== undefined && { artifactType }),
    ...(d.platform !== undefined && d.platform !== null && { platform: platform(d.platform, where, `${what}.platform`) }),
  };
}

function descriptorList(value: unknown, where: string, what: string): Descriptor[] {
  if (!Array.isArray(value)) throw hostile(where, `${what} is not a list`);
  return value.map((entry, i) => parseDescriptor(entry, where, `${what}[${i}]`));
}

/** The media type a manifest body declares, guessing from its shape when it carries no `mediaType`. */
function declaredMediaType(body: Record<string, unknown>, contentType: string | undefined, where: string): string {
  const field = optionalString(body.mediaType, where, 'mediaType');
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

/** The media type of manifest bytes served with `contentType` (the body's field must agree with the header). */
export function manifestMediaType(bytes: Buffer, contentType: string | undefined, where: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw hostile(where, 'manifest is not JSON');
  }
  return declaredMediaType(record(parsed, where, 'manifest'), contentType, where);
}

/** Parses manifest bytes served with `contentType` into an image manifest, an index, or a schema1 marker. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw hostile(where, 'manifest is not JSON');
  }
  const body = record(parsed, where, 'manifest');
  const mediaType = declaredMediaType(body, contentType, where);
  if (isSchema1(mediaType) || body.schemaVersion === 1) {
    const fsLayers = Array.isArray(body.fsLayers) ? body.fsLayers : [];
    const blobSums = fsLayers.map((layer, i) => digest(isRecord(layer) ? layer.blobSum : undefined, where, `fsLayers[${i}].blobSum`));
    return { kind: 'schema1', mediaType, blobSums };
  }
  if (body.schemaVersion !== 2) throw hostile(where, `manifest schemaVersion ${JSON.stringify(body.schemaVersion)} is not 2`);
  const subject = body.subject === undefined || body.subject === null ? undefined : parseDescriptor(body.subject, where, 'subject');
  if (isIndexMediaType(mediaType)) {
    return { kind: 'index', mediaType, manifests: descriptorList(body.manifests, where, 'manifests'), ...(subject && { subject }) };
  }
  if (isImageManifestMediaType(mediaType)) {
    const artifactType = optionalString(body.artifactType, where, 'artifactType');
    return {
      kind: 'manifest',
      mediaType,
      config: parseDescriptor(body.config, where, 'config'),
      layers: descriptorList(body.layers ?? [], where, 'layers'),
      ...(subject && { subject }),
      ...(artifactType !== undefined && { artifactType }),
    };
  }
  throw hostile(where, `unsupported manifest mediaType ${mediaType}`);
}

/** `{"name":…,"tags":[…]}`; `tags: null` (an empty repository) is an empty list. */
export function parseTagList(body: unknown, where: string): { name?: string; tags: string[] } {
  const r = record(body, where, 'tag list');
  const name = optionalString(r.name, where, 'name');
  return { ...(name !== undefined && { name }), tags: stringArray(r.tags, where, 'tags') };
}

export function parseCatalog(body: unknown, where: string): string[] {
  const r = record(body, where, 'catalog');
  return stringArray(r.repositories, where, 'repositories');
}

// numbers in the extension are decimal strings, but tolerate plain numbers
function numericString(value: unknown, where: string, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  throw hostile(where, `${what} is not a decimal number`);
}

/**
 * A tag list with Google's `child`/`manifest` extension, or undefined when the answer has neither field (a plain
 * distribution registry; the caller falls back to standard listing).
 */
export function parseGoogleTagList(body: unknown, where: string): GoogleTagList | undefined {
  const r = record(body, where, 'tag list');
  if (r.child === undefined && r.manifest === undefined) return undefined;
  const manifest: Record<string, GoogleManifestInfo> = {};
  if (r.manifest !== undefined && r.manifest !== null) {
    for (const [key, value] of Object.entries(record(r.manifest, where, 'manifest'))) {
      digest(key, where, `manifest key ${JSON.stringify(key.slice(0, 80))}`);
      const info = record(value, where, `manifest[${key}]`);
      const mediaType = optionalString(info.mediaType, where, `manifest[${key}].mediaType`);
      const timeUploadedMs = numericString(info.timeUploadedMs, where, `manifest[${key}].timeUploadedMs`);
      const timeCreatedMs = numericString(info.timeCreatedMs, where, `manifest[${key}].timeCreatedMs`);
      const imageSizeBytes = numericString(info.imageSizeBytes, where, `manifest[${key}].imageSizeBytes`);
      manifest[key] = {
        tag: stringArray(info.tag, where, `manifest[${key}].tag`),
        ...(mediaType !== undefined && { mediaType }),
        ...(timeUploadedMs !== undefined && { timeUploadedMs }),
        ...(timeCreatedMs !== undefined && { timeCreatedMs }),
        ...(imageSizeBytes !== undefined && { imageSizeBytes }),
      };
    }
  }
  return {
    name: optionalString(r.name, where, 'name') ?? '',
    child: stringArray(r.child, where, 'child'),
    tags: stringArray(r.tags, where, 'tags'),
    manifest,
  };
}
