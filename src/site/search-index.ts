import type { NamespaceView } from '../store/index-pages.js';
import { namespaceDir } from './paths.js';

/** Entries per shard the index aims at (a shard is some 60 KB); only a namespace's own shards change when it syncs. */
const SHARD_TARGET = 2000;

/**
 * The search index as script shards: `search/<namespace hash>-<bucket>.js`, each calling
 * `gcrsyncSearch.add({ source, target, pages }, [[repository, mirror, tags, newest tag], …])`. The namespace's
 * names are said once: `mirror` is 0 when it is `<target>/<repository>`, and a repository's page is
 * `<pages><repository>.html`, which keeps the index of 50 000 repositories near 2 MB. A namespace's repositories
 * are spread over a power of two of buckets by a hash of their name, so a sync rewrites only the shards whose
 * entries changed.
 */
export function renderSearchShards(namespaces: readonly NamespaceView[]): Map<string, string> {
  const shards = new Map<string, string>();
  for (const namespace of namespaces) {
    const buckets = bucketCount(namespace.repositories.length);
    const entries: unknown[][][] = Array.from({ length: buckets }, () => []);
    for (const repository of namespace.repositories) {
      const mirror = repository.mirror === `${namespace.target}/${repository.key}` ? 0 : (repository.mirror ?? '');
      entries[fnv1a(repository.key) % buckets]!.push([repository.key, mirror, repository.tags.length, repository.tags[0]!.tag]);
    }
    const header = JSON.stringify({ source: namespace.source, target: namespace.target, pages: namespaceDir(namespace.file) });
    const id = fnv1a(namespace.file).toString(16).padStart(8, '0');
    entries.forEach((bucket, index) => {
      if (bucket.length > 0) shards.set(`search/${id}-${index}.js`, `gcrsyncSearch.add(${header}, ${JSON.stringify(bucket)});\n`);
    });
  }
  return shards;
}

function bucketCount(entries: number): number {
  let buckets = 1;
  while (buckets * SHARD_TARGET < entries) buckets *= 2;
  return buckets;
}

/** 32-bit FNV-1a: a stable hash (the same in every Node version), which is all bucketing needs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
