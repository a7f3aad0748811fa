import semver from 'semver';

/** What the order looks at: the tag, and when it was synced where that is known. */
export interface TagToOrder {
  tag: string;
  /** ISO 8601 in UTC (metadata records); listings carry no times */
  syncedAt?: string;
}

/**
 * "Newest first", the one order for a repository's tags: the newest-N filter (over a listing, which has no
 * times) and the index pages (over the metadata, which knows when each tag was synced).
 *
 * 1. Tags that read as versions (`v1.28.0`, `3.9`, `1.0.0-rc.1`, `20240102`), highest version first; missing
 *    parts count as 0, so `3.10` ranks above `3.9` and `2.0` above `1.9.0`, and a release above its own
 *    release candidates.
 * 2. The other tags, most recently synced first where that is known (a first sync copies a namespace in
 *    whatever order the copies finished, which is why versions come from the text); then those that start
 *    with a digit before words (`edge`, `stable` name a moving target, not a version).
 * 3. Ties by descending natural order of the text (`nightly-20240102` before `nightly-20240101`).
 *
 * Each tag is parsed once: a namespace page sorts tens of thousands.
 */
export function sortTagsNewestFirst<T>(items: readonly T[], describe: (item: T) => TagToOrder): T[] {
  return items
    .map((item) => decorate(item, describe(item)))
    .sort(compareDecorated)
    .map(({ item }) => item);
}

interface Decorated<T> {
  item: T;
  tag: string;
  syncedAt: string;
  version: string | undefined;
  digitLed: boolean;
}

function decorate<T>(item: T, { tag, syncedAt }: TagToOrder): Decorated<T> {
  return { item, tag, syncedAt: syncedAt ?? '', version: versionOf(tag), digitLed: /^\d/.test(tag) };
}

// a fixed locale keeps the order the same on every machine
const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

function compareDecorated(a: Decorated<unknown>, b: Decorated<unknown>): number {
  if (a.version !== undefined && b.version !== undefined) {
    const byVersion = semver.rcompare(a.version, b.version);
    if (byVersion !== 0) return byVersion;
  } else if (a.version !== undefined || b.version !== undefined) {
    return a.version !== undefined ? -1 : 1;
  } else if (a.syncedAt !== b.syncedAt) {
    // ISO 8601 in UTC compares as text; an unknown time ("") sorts last
    return a.syncedAt < b.syncedAt ? 1 : -1;
  } else if (a.digitLed !== b.digitLed) {
    return a.digitLed ? -1 : 1;
  }
  return natural.compare(b.tag, a.tag);
}

const versionLike = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$/;

/** `3.9` → `3.9.0`, `v1.2.3-rc.1` → `1.2.3-rc.1`; undefined for tags that are not versions. */
function versionOf(tag: string): string | undefined {
  const match = versionLike.exec(tag);
  if (match === null) return undefined;
  const [, major, minor = '0', patch = '0', rest = ''] = match;
  return semver.valid(`${major}.${minor}.${patch}${rest}`) ?? undefined;
}
