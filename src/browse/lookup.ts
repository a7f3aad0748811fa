import { isGcrsyncError } from '../errors.js';
import { formatReference, formatRepository, parseReference, type Reference } from '../ref/reference.js';
import { parseMetadataFilePath } from '../store/layout.js';
import { findRecord, type NamespaceMetadata, type TagRecord } from '../store/schema.js';

/**
 * "Where is the mirror of this image?", answered from the metadata JSON alone: the same lookup serves
 * `where`, `list`, `pull`, `rewrite` and the admission webhook.
 */
export interface MirrorMatch {
  /** the source image, fully qualified (`registry.k8s.io/pause:3.9`) */
  source: string;
  /** the reference to pull from the mirror (pinned to the same digest when the lookup named one) */
  mirror: string;
  /** source manifest digest recorded at the sync; "" when unknown (old-format record) */
  digest: string;
  /** digest at the mirror when the transport rewrote the manifest */
  targetDigest?: string;
  platforms: string[];
  syncedAt: string;
  /** the metadata file that records it */
  file: string;
}

export type Resolution =
  | { mirrored: true; image: string; match: MirrorMatch }
  | { mirrored: false; image: string; reason: string };

interface NamespaceEntry {
  file: string;
  registry: string;
  namespace: string;
  metadata: NamespaceMetadata;
}

export class MirrorIndex {
  /** by `registry/namespace` (registry lowercase; namespace "" for a whole registry): one file per target, in path order */
  private readonly namespaces = new Map<string, NamespaceEntry[]>();
  /** every recorded mirror reference, built on first use */
  private mirrors: { references: Set<string>; digests: Map<string, Set<string>> } | undefined;

  /** Files whose path is not a metadata file path are ignored. */
  constructor(files: ReadonlyArray<{ file: string; metadata: NamespaceMetadata }>) {
    for (const { file, metadata } of files) {
      const location = parseMetadataFilePath(file);
      if (location === undefined) continue;
      const key = namespaceKey(location.registry, location.namespace);
      const entries = this.namespaces.get(key) ?? [];
      entries.push({ file, registry: location.registry, namespace: location.namespace, metadata });
      // the namespace's own file (its first target) answers first; the files of further targets after it
      entries.sort((a, b) => (a.file.length - b.file.length) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      this.namespaces.set(key, entries);
    }
  }

  /**
   * True when `image` already is a mirror reference this metadata records (a manifest that was rewritten
   * before): rewriting leaves it alone instead of calling it "not mirrored".
   */
  isMirror(image: string | Reference): boolean {
    const parsed = referenceOf(image);
    if ('refused' in parsed) return false;
    const { ref } = parsed;
    const mirrors = (this.mirrors ??= this.collectMirrors());
    if (ref.digest !== undefined) return mirrors.digests.get(formatRepository(ref))?.has(ref.digest) ?? false;
    return mirrors.references.has(formatReference({ ...ref, tag: ref.tag ?? 'latest' }));
  }

  get size(): number {
    return this.entries().length;
  }

  private entries(): NamespaceEntry[] {
    return [...this.namespaces.values()].flat();
  }

  /**
   * The mirror of one image. A name without tag or digest means `:latest`, as for `docker pull`. A digest
   * matches only when the mirror holds exactly that digest, and the answer pins the same digest: a pin never
   * turns into a pin of other content (a rewritten or platform-filtered mirror, a record of a moved tag).
   * Bad references answer `mirrored: false` with the parser's reason rather than throwing.
   */
  resolve(image: string | Reference): Resolution {
    const parsed = referenceOf(image);
    if ('refused' in parsed) return { mirrored: false, image: String(image), reason: parsed.refused };
    const { ref } = parsed;
    const wanted: Reference = ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
    const label = formatReference(wanted);
    let known = false;
    for (const { entry, key } of this.candidates(wanted)) {
      const tags = Object.hasOwn(entry.metadata.images, key) ? entry.metadata.images[key]! : undefined;
      if (tags === undefined) continue;
      known = true;
      const found = wanted.tag !== undefined ? tagMatch(entry, key, wanted) : digestMatch(tags, wanted.digest!);
      if (found === undefined) continue;
      const { tag, record } = found;
      if (record.skipped !== undefined) {
        return { mirrored: false, image: label, reason: `not mirrorable: ${record.skipped} (${entry.file}); a job with schema1: convert copies it as schema2` };
      }
      if (record.target === '') {
        return { mirrored: false, image: label, reason: `${entry.file} records it without a mirror name (old format); sync it again` };
      }
      return { mirrored: true, image: label, match: matchOf(entry, key, tag, record, wanted) };
    }
    const what = wanted.digest !== undefined && wanted.tag === undefined ? 'that digest' : wanted.digest !== undefined ? 'that tag and digest' : 'that tag';
    const rebuilt = wanted.digest !== undefined ? rebuiltNote(this.candidates(wanted), wanted.digest) : '';
    return { mirrored: false, image: label, reason: known ? `the repository is mirrored, but not ${what}${rebuilt}` : 'no metadata file mirrors it' };
  }

  /**
   * Every mirrored tag whose source or mirror reference contains `query` (case-insensitive; `*` matches any
   * run of characters), sorted by source. No query lists everything.
   */
  search(query?: string): MirrorMatch[] {
    const test = matcherFor(query);
    const out: MirrorMatch[] = [];
    for (const entry of this.entries()) {
      for (const key of Object.keys(entry.metadata.images)) {
        const tags = entry.metadata.images[key]!;
        for (const tag of Object.keys(tags)) {
          const record = tags[tag]!;
          if (record.target === '') continue;
          const match = matchOf(entry, key, tag, record, undefined);
          if (test(match.source) || test(match.mirror)) out.push(match);
        }
      }
    }
    return out.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }

  private collectMirrors(): { references: Set<string>; digests: Map<string, Set<string>> } {
    const references = new Set<string>();
    const digests = new Map<string, Set<string>>();
    for (const entry of this.entries()) {
      for (const tags of Object.values(entry.metadata.images)) {
        for (const record of Object.values(tags)) {
          if (record.target === '') continue;
          const target = parseReference(record.target);
          references.add(formatReference(target));
          const repository = formatRepository(target);
          let known = digests.get(repository);
          if (known === undefined) digests.set(repository, (known = new Set()));
          const digest = mirrorDigest(record);
          if (digest !== '') known.add(digest);
        }
      }
    }
    return { references, digests };
  }

  /** The namespace files that could hold the image: its registry with every prefix of its path, longest first. */
  private *candidates(ref: Reference): Generator<{ entry: NamespaceEntry; key: string }> {
    const parts = ref.repository.split('/');
    const registry = ref.registry.toLowerCase();
    for (let split = parts.length - 1; split >= 0; split--) {
      for (const entry of this.namespaces.get(namespaceKey(registry, parts.slice(0, split).join('/'))) ?? []) {
        yield { entry, key: parts.slice(split).join('/') };
      }
    }
  }
}

/** `image` as a reference, or the parser's reason when it is not one (any other error is a bug and is thrown). */
function referenceOf(image: string | Reference): { ref: Reference } | { refused: string } {
  if (typeof image !== 'string') return { ref: image };
  try {
    return { ref: parseReference(image) };
  } catch (error) {
    if (!isGcrsyncError(error)) throw error;
    return { refused: error.message };
  }
}

function namespaceKey(registry: string, namespace: string): string {
  return `${registry}/${namespace}`;
}

/** The manifest digest the mirror holds under the record's tag. */
function mirrorDigest(record: TagRecord): string {
  return record.targetDigest ?? record.digest;
}

function tagMatch(entry: NamespaceEntry, key: string, wanted: Reference): { tag: string; record: TagRecord } | undefined {
  const record = findRecord(entry.metadata, key, wanted.tag!);
  if (record === undefined) return undefined;
  // a pinned digest must be exactly what the mirror holds under that tag, or the pin would name other content
  if (wanted.digest !== undefined && wanted.digest !== mirrorDigest(record)) return undefined;
  return { tag: wanted.tag!, record };
}

function digestMatch(tags: Record<string, TagRecord>, digest: string): { tag: string; record: TagRecord } | undefined {
  for (const tag of Object.keys(tags).sort()) {
    const record = tags[tag]!;
    if (record.target !== '' && mirrorDigest(record) === digest) return { tag, record };
  }
  return undefined;
}

/** Why a pinned source digest has no mirror when the mirror holds a rebuilt copy of it (so users are not puzzled). */
function rebuiltNote(candidates: Iterable<{ entry: NamespaceEntry; key: string }>, digest: string): string {
  for (const { entry, key } of candidates) {
    const tags = Object.hasOwn(entry.metadata.images, key) ? entry.metadata.images[key]! : {};
    for (const record of Object.values(tags)) {
      if (record.digest === digest && record.targetDigest !== undefined) {
        return ` (the mirror holds a rebuilt copy, ${record.targetDigest}, which is other content)`;
      }
    }
  }
  return '';
}

/** `wanted` with a digest pins the answer to that same digest (keeping the tag only when `wanted` named one). */
function matchOf(entry: NamespaceEntry, key: string, tag: string, record: TagRecord, wanted: Reference | undefined): MirrorMatch {
  const repository = entry.namespace === '' ? key : `${entry.namespace}/${key}`;
  const source = formatReference({ registry: entry.registry, repository, tag });
  let mirror = record.target;
  if (wanted?.digest !== undefined) {
    // the schema only accepts parseable targets; a match means the mirror holds exactly wanted.digest
    const target = parseReference(record.target);
    const tagPart = wanted.tag === undefined || target.tag === undefined ? '' : `:${target.tag}`;
    mirror = `${formatRepository(target)}${tagPart}@${wanted.digest}`;
  }
  return {
    source,
    mirror,
    digest: record.digest,
    ...(record.targetDigest !== undefined && { targetDigest: record.targetDigest }),
    platforms: record.platforms ?? [],
    syncedAt: record.syncedAt,
    file: entry.file,
  };
}

function matcherFor(query: string | undefined): (text: string) => boolean {
  const trimmed = query?.trim().toLowerCase() ?? '';
  if (trimmed === '') return () => true;
  if (!trimmed.includes('*')) return (text) => text.toLowerCase().includes(trimmed);
  const pattern = new RegExp(trimmed.split('*').map(escapeRegExp).join('.*'));
  return (text) => pattern.test(text.toLowerCase());
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
