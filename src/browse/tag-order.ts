import semver from 'semver';
import type { TagRecord } from '../store/schema.js';

/**
 * "Newest first" for a repository's tags. The records only know when a tag was synced, and a first sync copies
 * a namespace in whatever order the copies finished, so sync time alone would shuffle `3.9`, `3.10`, `3.8`.
 * Tags that read as versions (`v1.28.0`, `3.9`, `1.0.0-rc.1`) therefore come first, highest version first;
 * the rest (`latest`, `sha256-….sig`, dates with letters) follow, most recently synced first, then by name.
 */
export function compareTagsNewestFirst(a: { tag: string; record: TagRecord }, b: { tag: string; record: TagRecord }): number {
  const va = versionOf(a.tag);
  const vb = versionOf(b.tag);
  if (va !== undefined && vb !== undefined) {
    const byVersion = semver.rcompare(va, vb);
    if (byVersion !== 0) return byVersion;
  } else if (va !== undefined || vb !== undefined) {
    return va !== undefined ? -1 : 1;
  } else if (a.record.syncedAt !== b.record.syncedAt) {
    // ISO 8601 in UTC compares as text; an unknown time ("") sorts last
    return a.record.syncedAt < b.record.syncedAt ? 1 : -1;
  }
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

const versionLike = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$/;

/** `3.9` → `3.9.0`, `v1.2.3-rc.1` → `1.2.3-rc.1`; undefined for tags that are not versions. */
function versionOf(tag: string): string | undefined {
  const match = versionLike.exec(tag);
  if (match === null) return undefined;
  const [, major, minor = '0', patch = '0', rest = ''] = match;
  return semver.valid(`${major}.${minor}.${patch}${rest}`) ?? undefined;
}
