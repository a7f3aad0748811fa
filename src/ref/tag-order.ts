import semver from 'semver';
import type { TagRecord } from '../store/schema.js';

/**
 * "Newest first" for a repository's tags. The records only know when a tag was synced, and a first sync copies
 * a namespace in whatever order the copies finished, so sync time alone would shuffle `3.9`, `3.10`, `3.8`.
 * Tags that read as versions (`v1.28.0`, `3.9`, `1.0.0-rc.1`) therefore come first, highest version first;
 * the rest (`latest`, `sha256-….sig`, dates with letters) follow, most recently synced first, then by name.
 */
export function compareTagsNewestFirst(a: { tag: string; record: TagRecord }, b: { tag: string; record: TagRecord }): number {
  return compareDecorated({ item: a, version: versionOf(a.tag) }, { item: b, version: versionOf(b.tag) });
}

/** The same order for a whole list, parsing each tag once (a namespace page sorts tens of thousands). */
export function sortTagsNewestFirst<T extends { tag: string; record: TagRecord }>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, version: versionOf(item.tag) }))
    .sort(compareDecorated)
    .map(({ item }) => item);
}

interface Decorated {
  item: { tag: string; record: TagRecord };
  version: string | undefined;
}

function compareDecorated(a: Decorated, b: Decorated): number {
  if (a.version !== undefined && b.version !== undefined) {
    const byVersion = semver.rcompare(a.version, b.version);
    if (byVersion !== 0) return byVersion;
  } else if (a.version !== undefined || b.version !== undefined) {
    return a.version !== undefined ? -1 : 1;
  } else if (a.item.record.syncedAt !== b.item.record.syncedAt) {
    // ISO 8601 in UTC compares as text; an unknown time ("") sorts last
    return a.item.record.syncedAt < b.item.record.syncedAt ? 1 : -1;
  }
  return a.item.tag < b.item.tag ? -1 : a.item.tag > b.item.tag ? 1 : 0;
}

const versionLike = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$/;

/** `3.9` → `3.9.0`, `v1.2.3-rc.1` → `1.2.3-rc.1`; undefined for tags that are not versions. */
function versionOf(tag: string): string | undefined {
  const match = versionLike.exec(tag);
  if (match === null) return undefined;
  const [, major, minor = '0', patch = '0', rest = ''] = match;
  return semver.valid(`${major}.${minor}.${patch}${rest}`) ?? undefined;
}
