import { GcrsyncError } from '../errors.js';
import { isValidRegistryHost, isValidRepositoryPath } from '../ref/reference.js';

/**
 * Where things live in the metadata repo. One file per source namespace:
 * `metadata/<registry>/<namespace>.json`, the namespace's `/` becoming directories, the `:` of
 * `host:port` becoming `_` (registry hosts never contain `_`, so the mapping can be inverted), and a
 * whole registry (empty namespace) stored as `_root.json` (no valid namespace starts with `_`).
 */
export const METADATA_DIR = 'metadata';
export const CHANGELOG_FILE = 'CHANGELOG.md';
/** The catalog (src/site/); `gcrsync site --out` can put it anywhere else. */
export const SITE_DIR = 'site';
const ROOT_NAME = '_root';

export interface MetadataLocation {
  /** registry host[:port], lowercase */
  registry: string;
  /** path under the registry; '' for the whole registry */
  namespace: string;
}

/** The repo-relative path (with `/`) of a namespace's metadata file. Both parts are validated so no `..` can become a path. */
export function metadataFilePath(registry: string, namespace: string): string {
  if (!isValidRegistryHost(registry)) {
    throw new GcrsyncError('BAD_REFERENCE', `registry ${JSON.stringify(registry)} is not a host[:port]`, { ref: registry });
  }
  if (namespace !== '' && !isValidRepositoryPath(namespace)) {
    throw new GcrsyncError('BAD_REFERENCE', `namespace ${JSON.stringify(namespace)} is not a repository path`, { ref: namespace });
  }
  // host names are case-insensitive; one spelling keeps one file per registry
  const registryDir = registry.toLowerCase().replaceAll(':', '_');
  return `${METADATA_DIR}/${registryDir}/${namespace === '' ? ROOT_NAME : namespace}.json`;
}

/** The inverse of `metadataFilePath`; undefined for any path that it could not have produced. */
export function parseMetadataFilePath(file: string): MetadataLocation | undefined {
  const prefix = `${METADATA_DIR}/`;
  if (!file.startsWith(prefix) || !file.endsWith('.json')) return undefined;
  const inner = file.slice(prefix.length, -'.json'.length);
  const slash = inner.indexOf('/');
  if (slash < 0) return undefined;
  const registryDir = inner.slice(0, slash);
  if (registryDir.includes(':')) return undefined;
  const registry = registryDir.replaceAll('_', ':');
  const rest = inner.slice(slash + 1);
  const namespace = rest === ROOT_NAME ? '' : rest;
  if (!isValidRegistryHost(registry) || registry !== registry.toLowerCase()) return undefined;
  if (namespace !== '' && !isValidRepositoryPath(namespace)) return undefined;
  return { registry, namespace };
}
