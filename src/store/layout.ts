import { GcrsyncError } from '../errors.js';
import { isValidRegistryHost, isValidRepositoryPath } from '../ref/reference.js';

/**
 * Where things live in the metadata repo. One file per source namespace and target:
 * `metadata/<registry>/<namespace>.json`, the namespace's `/` becoming directories, the `:` of
 * `host:port` becoming `_` (registry hosts never contain `_`, so the mapping can be inverted), and a
 * whole registry (empty namespace) stored as `_root.json` (no valid namespace starts with `_`).
 * That file belongs to the first target the namespace was mirrored to (its header says which); a second
 * target gets `<namespace>@<target>.json` beside it, the target's `:` becoming `_` and its `/` becoming `+`
 * (neither `@` nor `+` can appear in a namespace or a target, so this too can be inverted).
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
  /** the target location, for a file of a namespace's second (third, …) target */
  target?: string;
}

/**
 * The repo-relative path (with `/`) of a namespace's metadata file; with `target`, of the file of that target
 * beside it. Every part is validated so no `..` can become a path.
 */
export function metadataFilePath(registry: string, namespace: string, target?: string): string {
  if (!isValidRegistryHost(registry)) {
    throw new GcrsyncError('BAD_REFERENCE', `registry ${JSON.stringify(registry)} is not a host[:port]`, { ref: registry });
  }
  if (namespace !== '' && !isValidRepositoryPath(namespace)) {
    throw new GcrsyncError('BAD_REFERENCE', `namespace ${JSON.stringify(namespace)} is not a repository path`, { ref: namespace });
  }
  // host names are case-insensitive; one spelling keeps one file per registry
  const registryDir = registry.toLowerCase().replaceAll(':', '_');
  const suffix = target === undefined ? '' : `@${targetSlug(target)}`;
  return `${METADATA_DIR}/${registryDir}/${namespace === '' ? ROOT_NAME : namespace}${suffix}.json`;
}

function targetSlug(target: string): string {
  const slash = target.indexOf('/');
  const registry = slash < 0 ? target : target.slice(0, slash);
  const path = slash < 0 ? '' : target.slice(slash + 1);
  if (!isValidRegistryHost(registry) || (path !== '' && !isValidRepositoryPath(path))) {
    throw new GcrsyncError('BAD_REFERENCE', `target ${JSON.stringify(target)} is not a registry location`, { ref: target });
  }
  return [registry.toLowerCase().replaceAll(':', '_'), ...(path === '' ? [] : path.split('/'))].join('+');
}

function parseTargetSlug(slug: string): string | undefined {
  const [registryPart, ...path] = slug.split('+');
  const registry = registryPart!.replaceAll('_', ':');
  if (!isValidRegistryHost(registry) || registry !== registry.toLowerCase()) return undefined;
  if (path.length > 0 && !isValidRepositoryPath(path.join('/'))) return undefined;
  return [registry, ...path].join('/');
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
  const [rest, slug, ...extra] = inner.slice(slash + 1).split('@');
  if (extra.length > 0) return undefined;
  const namespace = rest === ROOT_NAME ? '' : rest!;
  if (!isValidRegistryHost(registry) || registry !== registry.toLowerCase()) return undefined;
  if (namespace !== '' && !isValidRepositoryPath(namespace)) return undefined;
  if (slug === undefined) return { registry, namespace };
  const target = parseTargetSlug(slug);
  return target === undefined ? undefined : { registry, namespace, target };
}
