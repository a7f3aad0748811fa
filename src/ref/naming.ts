import { GcrsyncError } from '../errors.js';
import { DOCKER_HUB, isValidRepositoryPath, type Reference } from './reference.js';

/** Where a source namespace lives: `gcr.io` + `google-containers` (namespace may be nested, or '' for a whole registry). */
export interface SourceLocation {
  registry: string;
  namespace: string;
}

/** Where mirrored images go: a registry plus an optional path prefix (`docker.io` + `gcrxio`). */
export interface TargetLocation {
  registry: string;
  path: string;
}

/** The repository path under the namespace, the key used in the metadata JSON (`sub/app` for `ns/sub/app`). */
export function relativeRepository(source: SourceLocation, repository: string): string {
  if (source.namespace === '') return repository;
  if (repository === source.namespace) return repository.split('/').pop()!;
  const prefix = source.namespace + '/';
  if (!repository.startsWith(prefix)) {
    throw new GcrsyncError('BAD_REFERENCE', `repository ${JSON.stringify(repository)} is outside namespace ${JSON.stringify(source.namespace)}`, {
      ref: repository,
    });
  }
  return repository.slice(prefix.length);
}

/**
 * The default mirror name: `<target>/<path under the namespace>`. Docker Hub allows exactly
 * `namespace/repo`, so nested paths are flattened with `_` there (`gcrxio/sub_app`).
 */
export function targetRepository(target: TargetLocation, relative: string): string {
  let path = relative;
  if (target.registry === DOCKER_HUB) {
    path = relative.split('/').join('_');
    if (target.path.includes('/')) {
      throw new GcrsyncError('CONFIG', `Docker Hub target ${JSON.stringify(target.path)} has more than one path level`, { ref: target.path });
    }
    if (target.path === '') {
      throw new GcrsyncError('CONFIG', 'a Docker Hub target needs a namespace, e.g. docker.io/gcrxio', { ref: DOCKER_HUB });
    }
  }
  const full = target.path === '' ? path : `${target.path}/${path}`;
  if (!isValidRepositoryPath(full)) {
    throw new GcrsyncError('BAD_REFERENCE', `mirror name ${JSON.stringify(full)} is not a valid repository path`, { ref: full });
  }
  return full;
}

export function targetReference(target: TargetLocation, relative: string, tag: string): Reference {
  return { registry: target.registry, repository: targetRepository(target, relative), tag };
}
