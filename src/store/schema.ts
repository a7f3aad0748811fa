import * as z from 'zod';
import { GcrsyncError } from '../errors.js';
import { isValidDigest, isValidRepositoryPath, isValidTag, parseLocation, parseReference } from '../ref/reference.js';
import { canonicalPieces } from './canonical-json.js';
import { lineColumn, locateJsonSyntaxError } from './json-syntax.js';

/**
 * What the metadata repo records about one synced tag.
 *
 * Unknown values are the empty string, never omitted: files in the old gcrsync format (a JSON array of
 * `"name:tag"`) say only that a tag was synced, so their records migrate as
 * `{ digest: "", target: "", syncedAt: "" }`. Test with `isDigestKnown` before comparing digests.
 */
export type TagRecord = z.output<typeof tagRecord>;

const platformPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*){1,2}$/;
/** Image shapes a registry can no longer store as they are. */
export type NotMirrorable = 'schema1';
const notMirrorable = z.enum(['schema1'], { error: 'must be one of schema1' });
const count = z.int({ error: 'must be a whole number' }).min(0, { error: 'must be a whole number' });
const knownOrEmpty = (test: (text: string) => boolean, message: string) => z.string({ error: message }).refine((text) => text === '' || test(text), message);

const tagRecord = z
  .strictObject(
    {
      /** manifest digest at the SOURCE when the tag was synced; "" when unknown */
      digest: knownOrEmpty(isValidDigest, 'must be a digest (algorithm:hex) or "" when unknown'),
      /** full target reference the tag was copied to; "" when unknown */
      target: knownOrEmpty(isImageReference, 'must be a full image reference with a tag or digest, or "" when unknown'),
      /** ISO 8601 time of the sync; "" when unknown */
      syncedAt: knownOrEmpty(isIsoTime, 'must be an ISO 8601 time or "" when unknown'),
      /** platforms of the synced image (`os/arch[/variant]`), sorted */
      platforms: z.array(z.string({ error: 'must be os/arch[/variant]' }).regex(platformPattern, 'must be os/arch[/variant]'), { error: 'must be a list of os/arch[/variant]' }).optional(),
      /** digest at the target, present only when it differs from `digest` (the transport rewrote the manifest) */
      targetDigest: z.string({ error: 'must be a digest (algorithm:hex)' }).refine(isValidDigest, 'must be a digest (algorithm:hex)').optional(),
      /** the tag is not mirrorable and was not copied (`schema1`: a Docker schema1 image with `schema1: skip`) */
      skipped: notMirrorable.optional(),
      /** the image was converted to be copied (`schema1`: to Docker schema2); `targetDigest` is the converted one */
      converted: notMirrorable.optional(),
      /** digest tags (`sha256-<hex>.sig`, `.att`, `.sbom`, …) copied with the image */
      signatures: count.optional(),
      /** OCI 1.1 referrers (manifests whose `subject` is the image) copied with the image */
      referrers: count.optional(),
      /** the `--platform` filter of the copy, sorted; absent for all platforms (and in records made before it existed) */
      platformFilter: z.array(z.string({ error: 'must be os/arch[/variant]' }).regex(platformPattern, 'must be os/arch[/variant]'), { error: 'must be a list of os/arch[/variant]' }).optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'is not a known field' : 'must be an object') },
  )
  // built field by field, always in this order: records made by spreading got a hidden class each in V8 after
  // the first dozen (200 bytes more per record, 10 MB over a 50 000-tag namespace)
  .transform(({ digest, target, syncedAt, platforms, targetDigest, skipped, converted, signatures, referrers, platformFilter }) => {
    const record: {
      digest: string;
      target: string;
      syncedAt: string;
      platforms?: string[];
      targetDigest?: string;
      skipped?: NotMirrorable;
      converted?: NotMirrorable;
      signatures?: number;
      referrers?: number;
      platformFilter?: string[];
    } = { digest, target, syncedAt };
    if (platforms !== undefined && platforms.length > 0) record.platforms = [...new Set(platforms)].sort();
    if (targetDigest !== undefined && targetDigest !== digest) record.targetDigest = targetDigest;
    if (skipped !== undefined) record.skipped = skipped;
    if (converted !== undefined) record.converted = converted;
    if (signatures !== undefined && signatures > 0) record.signatures = signatures;
    if (referrers !== undefined && referrers > 0) record.referrers = referrers;
    if (platformFilter !== undefined && platformFilter.length > 0) record.platformFilter = [...new Set(platformFilter)].sort();
    return record;
  });

/** The content of one `metadata/<registry>/<namespace>.json`. */
export interface NamespaceMetadata {
  /** the source location, e.g. `gcr.io/google-containers`; "" in a file migrated from the old format */
  source: string;
  /** the target location, e.g. `docker.io/gcrxio`; "" in a file migrated from the old format */
  target: string;
  /**
   * repository path under the namespace → tag → record. The maps have no prototype, because
   * `constructor` and `__proto__` are valid tags; look records up with `findRecord`.
   */
  images: Record<string, Record<string, TagRecord>>;
}

export interface MetadataHeader {
  source: string;
  target: string;
}

export interface MetadataUpdate {
  /** repository path under the namespace */
  repository: string;
  tag: string;
  record: TagRecord;
}

export interface MetadataEntryKey {
  repository: string;
  tag: string;
}

/** False for records migrated from the old gcrsync list format, which never stored a digest. */
export function isDigestKnown(record: TagRecord): boolean {
  return record.digest !== '';
}

type Fail = (path: string, why: string) => never;

/**
 * Parses a metadata file (new format, or the old gcrsync array which is migrated). Every problem is a
 * `METADATA_CORRUPT` error naming `fileLabel` and either the line:column of the JSON syntax error or
 * the JSON path of the bad value.
 */
export function parseMetadata(text: string, fileLabel: string): NamespaceMetadata {
  // editors on Windows like to add a byte order mark; JSON.parse refuses it
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const problem = locateJsonSyntaxError(body);
    const where = problem === undefined ? undefined : lineColumn(body, problem.offset);
    const reason = problem?.reason ?? (error instanceof Error ? error.message : String(error));
    const at = where === undefined ? '' : `:${where.line}:${where.column}`;
    throw new GcrsyncError('METADATA_CORRUPT', `${fileLabel}${at}: invalid JSON (${reason})`, { ref: fileLabel });
  }
  const fail: Fail = (path, why) => {
    throw new GcrsyncError('METADATA_CORRUPT', `${fileLabel}: ${path} ${why}`, { ref: fileLabel });
  };
  return Array.isArray(value) ? migrateLegacyList(value, fail) : validateMetadata(value, fail);
}

/** Canonical text: keys sorted (by UTF-16 code unit) at every level, 2-space indentation, trailing newline. */
export function serializeMetadata(metadata: NamespaceMetadata): string {
  return [...metadataPieces(checkForWriting(metadata))].join('');
}

/** The metadata as it would be written: every record in canonical form; BAD_REFERENCE for one it could not read back. */
export function checkForWriting(metadata: NamespaceMetadata): NamespaceMetadata {
  // what applyUpdates made is already that: checked without another copy of every map (a first sync's end holds enough)
  return isWritable(metadata) ? metadata : validateMetadata(metadata, refuseToWrite);
}

/** True when validateMetadata would make the same of it: valid header and keys, prototype-less maps, canonical records. */
function isWritable(metadata: NamespaceMetadata): boolean {
  if (!isObject(metadata) || Object.keys(metadata).some((key) => !headerKeys.has(key))) return false;
  const { source, target, images } = metadata;
  if (![source, target].every((text) => typeof text === 'string' && (text === '' || isLocation(text)))) return false;
  if (!isObject(images) || Object.getPrototypeOf(images) !== null) return false;
  for (const [repository, tags] of Object.entries(images)) {
    if (!isValidRepositoryPath(repository) || !isObject(tags) || Object.getPrototypeOf(tags) !== null) return false;
    for (const [tag, record] of Object.entries(tags)) if (!isValidTag(tag) || asCanonicalRecord(record) !== record) return false;
  }
  return true;
}

/**
 * The canonical text of metadata `checkForWriting` returned, in pieces of about 64 K characters: a 50 000-tag
 * namespace's file is 14 MB, which as one string (and the strings it is joined from) would be tens of MB at once.
 */
export function* metadataPieces(checked: NamespaceMetadata): Generator<string, void, undefined> {
  // the images are split down to the records (depth 3); the trailing newline is the file's, not the JSON's
  yield* canonicalPieces(checked, 3);
  yield '\n';
}

/**
 * Whether two checked metadata (`checkForWriting`, `parseMetadata`) have the same canonical text: compared by
 * content, which costs no text at all.
 */
export function sameMetadata(a: NamespaceMetadata, b: NamespaceMetadata): boolean {
  return a.source === b.source && a.target === b.target && sameMembers(a.images, b.images, (x, y) => sameMembers(x, y, sameRecord));
}

function sameMembers<T>(a: Record<string, T>, b: Record<string, T>, same: (x: T, y: T) => boolean): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && same(a[key]!, b[key]!));
}

/** Checked records hold only the known fields, none of them undefined, so field by field is text by text. */
function sameRecord(a: TagRecord, b: TagRecord): boolean {
  if (a === b) return true;
  for (const field of recordFields) {
    const x: unknown = a[field as keyof TagRecord];
    const y: unknown = b[field as keyof TagRecord];
    if (Array.isArray(x) && Array.isArray(y) ? x.length !== y.length || x.some((item, index) => item !== y[index]) : x !== y) return false;
  }
  return true;
}

/**
 * Pure merge "by content": the records of `current` (whoever wrote them) plus `updates`, each replacing
 * the record of its repository and tag. The header is set from `header`.
 */
export function applyUpdates(
  current: NamespaceMetadata | undefined,
  header: MetadataHeader,
  updates: readonly MetadataUpdate[],
): NamespaceMetadata {
  const next: NamespaceMetadata = { ...validateHeader(header, refuseToWrite), images: copyImages(current?.images) };
  for (const update of updates) {
    const path = checkKeys(update.repository, update.tag, refuseToWrite);
    const tags = (next.images[update.repository] ??= emptyMap());
    tags[update.tag] = validateRecord(update.record, path, refuseToWrite);
  }
  return next;
}

/** The same records with every map in the order `parseMetadata(serializeMetadata(metadata))` gives them. */
export function inCanonicalOrder(metadata: NamespaceMetadata): NamespaceMetadata {
  const images = emptyMap<Record<string, TagRecord>>();
  for (const repository of Object.keys(metadata.images).sort()) {
    const tags = metadata.images[repository]!;
    const ordered = (images[repository] = emptyMap<TagRecord>());
    for (const tag of Object.keys(tags).sort()) ordered[tag] = tags[tag]!;
  }
  return { source: metadata.source, target: metadata.target, images };
}

export function findRecord(metadata: NamespaceMetadata | undefined, repository: string, tag: string): TagRecord | undefined {
  if (metadata === undefined || !Object.hasOwn(metadata.images, repository)) return undefined;
  const tags = metadata.images[repository]!;
  return Object.hasOwn(tags, tag) ? tags[tag] : undefined;
}

/** Every record, sorted by repository then tag. */
export function listRecords(metadata: NamespaceMetadata): Array<MetadataEntryKey & { record: TagRecord }> {
  const out: Array<MetadataEntryKey & { record: TagRecord }> = [];
  for (const repository of Object.keys(metadata.images).sort()) {
    const tags = metadata.images[repository]!;
    for (const tag of Object.keys(tags).sort()) out.push({ repository, tag, record: tags[tag]! });
  }
  return out;
}

const refuseToWrite: Fail = (path, why) => {
  throw new GcrsyncError('BAD_REFERENCE', `refusing to write metadata: ${path} ${why}`);
};

const headerKeys = new Set(['source', 'target', 'images']);
const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** True for an `os/arch[/variant]` the metadata can record (an image config may claim anything). */
export function isRecordablePlatform(text: string): boolean {
  return platformPattern.test(text);
}

function validateMetadata(value: unknown, fail: Fail): NamespaceMetadata {
  if (!isObject(value)) fail('$', 'must be an object with source, target and images (or the old list of "name:tag")');
  for (const key of Object.keys(value)) if (!headerKeys.has(key)) fail(member('$', key), 'is not a known field');
  const header = validateHeader(value, fail);
  const images = value['images'];
  if (!isObject(images)) fail('$.images', 'must be an object of repositories');
  const out = emptyMap<Record<string, TagRecord>>();
  for (const [repository, tags] of Object.entries(images)) {
    if (!isValidRepositoryPath(repository)) fail(member('$.images', repository), 'is not a repository path (lowercase components joined by /)');
    if (!isObject(tags)) fail(member('$.images', repository), 'must be an object of tags');
    const map = (out[repository] = emptyMap<TagRecord>());
    // the JSON path of a tag is made only for a record that needs the schema (a 50 000-tag file has none)
    for (const [tag, record] of Object.entries(tags)) map[tag] = (isValidTag(tag) && asCanonicalRecord(record)) || validateRecord(record, checkKeys(repository, tag, fail), fail);
  }
  return { ...header, images: out };
}

function validateHeader(value: Record<string, unknown> | MetadataHeader, fail: Fail): MetadataHeader {
  const header: Record<string, string> = {};
  for (const key of ['source', 'target'] as const) {
    const text = (value as Record<string, unknown>)[key];
    if (typeof text !== 'string') fail(`$.${key}`, 'must be a string');
    if (text !== '' && !isLocation(text)) fail(`$.${key}`, `${JSON.stringify(text)} is not a registry location`);
    header[key] = text;
  }
  return { source: header['source']!, target: header['target']! };
}

function checkKeys(repository: string, tag: string, fail: Fail): string {
  const repositoryPath = member('$.images', repository);
  if (!isValidRepositoryPath(repository)) fail(repositoryPath, 'is not a repository path (lowercase components joined by /)');
  const path = member(repositoryPath, tag);
  if (!isValidTag(tag)) fail(path, 'is not a valid tag');
  return path;
}

function validateRecord(value: unknown, path: string, fail: Fail): TagRecord {
  const canonical = asCanonicalRecord(value);
  if (canonical !== undefined) return canonical;
  // undefined is how an optional field is left out in code; JSON cannot express it
  const fields = isObject(value) ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) : value;
  const result = tagRecord.safeParse(fields);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = [...issue.path, ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])];
  return fail(at.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : member(out, String(key))), path), issue.message);
}

const recordFields = new Set(['digest', 'target', 'syncedAt', 'platforms', 'targetDigest', 'skipped', 'converted', 'signatures', 'referrers', 'platformFilter']);

/**
 * The record itself when it is what the schema would make of it: every field known, valid and already in canonical
 * form, as gcrsync writes them. The schema allocates kilobytes per record, hundreds of MB of garbage for the file
 * of a 50 000-tag namespace (read by every run, validated again when written); anything else (undefined here)
 * goes through it, to be normalized or refused with the reason.
 */
function asCanonicalRecord(value: unknown): TagRecord | undefined {
  if (!isObject(value)) return undefined;
  for (const key in value) if (!recordFields.has(key) || value[key] === undefined) return undefined;
  const { digest, target, syncedAt, platforms, targetDigest, skipped, converted, signatures, referrers, platformFilter } = value;
  const known = (text: unknown, test: (text: string) => boolean) => typeof text === 'string' && (text === '' || test(text));
  if (!known(digest, isValidDigest) || !known(target, isImageReference) || !known(syncedAt, isIsoTime)) return undefined;
  if (targetDigest !== undefined && (targetDigest === digest || !known(targetDigest, isValidDigest) || targetDigest === '')) return undefined;
  if ((platforms !== undefined && !isCanonicalPlatforms(platforms)) || (platformFilter !== undefined && !isCanonicalPlatforms(platformFilter))) return undefined;
  if ((skipped !== undefined && skipped !== 'schema1') || (converted !== undefined && converted !== 'schema1')) return undefined;
  const positive = (count: unknown) => count === undefined || (Number.isSafeInteger(count) && (count as number) > 0);
  return positive(signatures) && positive(referrers) ? (value as TagRecord) : undefined;
}

/** A non-empty list of platforms, sorted and without repeats (what the schema makes of a list). */
function isCanonicalPlatforms(list: unknown): boolean {
  return (
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((platform, index) => typeof platform === 'string' && platformPattern.test(platform) && (index === 0 || (list[index - 1] as string) < platform))
  );
}

function migrateLegacyList(list: unknown[], fail: Fail): NamespaceMetadata {
  const images = emptyMap<Record<string, TagRecord>>();
  list.forEach((entry, index) => {
    const path = `$[${index}]`;
    if (typeof entry !== 'string') fail(path, 'must be a "name:tag" string');
    const colon = entry.lastIndexOf(':');
    const repository = entry.slice(0, Math.max(colon, 0));
    const tag = entry.slice(colon + 1);
    if (colon < 0 || !isValidRepositoryPath(repository) || !isValidTag(tag)) {
      fail(path, `${JSON.stringify(truncate(entry))} is not "name:tag"`);
    }
    const tags = (images[repository] ??= emptyMap());
    tags[tag] = { digest: '', target: '', syncedAt: '' };
  });
  return { source: '', target: '', images };
}

function copyImages(images: NamespaceMetadata['images'] | undefined): NamespaceMetadata['images'] {
  const out = emptyMap<Record<string, TagRecord>>();
  if (images === undefined) return out;
  for (const [repository, tags] of Object.entries(images)) out[repository] = Object.assign(emptyMap<TagRecord>(), tags);
  return out;
}

function emptyMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLocation(text: string): boolean {
  try {
    parseLocation(text);
    return !text.includes('://');
  } catch {
    return false;
  }
}

function isImageReference(text: string): boolean {
  try {
    const ref = parseReference(text);
    return ref.tag !== undefined || ref.digest !== undefined;
  } catch {
    return false;
  }
}

function isIsoTime(text: string): boolean {
  return isoTime.test(text) && !Number.isNaN(Date.parse(text));
}

/** JSON path of a member: `$.images` for plain names, `$.images["a/b"]` for anything else. */
function member(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(truncate(key))}]`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
