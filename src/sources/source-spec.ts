import { GcrsyncError } from '../errors.js';
import type { SourceLocation } from '../ref/naming.js';
import { DOCKER_HUB, isValidDigest, isValidRegistryHost, isValidRepositoryPath, isValidTag } from '../ref/reference.js';
import { isGoogleHost } from '../registry/client.js';

/** How a namespace's repositories are enumerated. */
export type NamespaceApi = 'google' | 'quay' | 'docker-hub' | 'catalog';

/** A tag an image list names, optionally pinned to the digest it must still point at. */
export interface NamedTag {
  tag: string;
  digest?: string;
}

/** One repository of an image list group. */
export interface ImageSelection {
  /** repository path under the group's namespace (`nginx` in `docker.io/library`, `node` in `quay.io/calico`) */
  repository: string;
  /** the tags the list names for it; undefined means every tag (a bare repository line) */
  tags?: NamedTag[];
}

/**
 * A source as a job names it. Every kind is one namespace (`registry` + `namespace`, '' for the registry
 * root), which is where its metadata lives: `metadata/<registry>/<namespace>.json`.
 */
export type SourceSpec = NamespaceSpec | RepositoriesSpec | ImagesSpec;

/** Every repository under the namespace, found through the registry's own listing API. */
export interface NamespaceSpec {
  kind: 'namespace';
  registry: string;
  namespace: string;
  /** undefined: chosen by host (Google hosts, quay.io, docker.io; any other host is probed, then `_catalog`) */
  api?: NamespaceApi;
}

/** Named repositories, for registries that cannot enumerate a namespace (ghcr.io). */
export interface RepositoriesSpec {
  kind: 'repositories';
  registry: string;
  namespace: string;
  /** repository paths under the namespace (`app`, `tools/cli` for `ghcr.io/owner/app`, `ghcr.io/owner/tools/cli`) */
  repositories: string[];
}

/** The share of an image list that falls in one namespace; built by `groupByNamespace`. */
export interface ImagesSpec {
  kind: 'images';
  registry: string;
  namespace: string;
  images: ImageSelection[];
  /** `copy` when the image is copy's SRC: its messages speak of SRC, not of an image list */
  namedBy?: 'copy';
}

/** Hosts whose namespaces can only be listed repository by repository (no catalog, no listing API). */
const CANNOT_ENUMERATE = new Set(['ghcr.io']);
const QUAY = 'quay.io';

/** The API that lists a namespace at `registry`, or 'probe' when only asking the registry can tell. */
export function namespaceApiFor(spec: Pick<NamespaceSpec, 'registry' | 'api'>): NamespaceApi | 'probe' {
  if (spec.api !== undefined) return spec.api;
  const host = spec.registry.toLowerCase();
  if (isGoogleHost(host)) return 'google';
  if (host === QUAY) return 'quay';
  if (host === DOCKER_HUB) return 'docker-hub';
  return 'probe';
}

/** The full repository path of `relative` under `namespace`. */
export function repositoryPath(namespace: string, relative: string): string {
  return namespace === '' ? relative : `${namespace}/${relative}`;
}

/** Where the source's metadata lives. */
export function sourceLocation(spec: SourceSpec): SourceLocation {
  return { registry: spec.registry, namespace: spec.namespace };
}

function configError(spec: SourceSpec, why: string): GcrsyncError {
  const where = spec.namespace === '' ? spec.registry : `${spec.registry}/${spec.namespace}`;
  return new GcrsyncError('CONFIG', `source ${JSON.stringify(where)}: ${why}`, { ref: where });
}

function checkRelative(spec: SourceSpec, relative: string): void {
  if (!isValidRepositoryPath(repositoryPath(spec.namespace, relative))) {
    throw configError(spec, `repository ${JSON.stringify(relative)} is not a valid repository path under the namespace`);
  }
}

/** Checks a spec before anything is requested; throws CONFIG naming the source and the reason. */
export function validateSourceSpec(spec: SourceSpec): void {
  if (!isValidRegistryHost(spec.registry)) throw configError(spec, 'registry is not a host[:port]');
  if (spec.namespace !== '' && !isValidRepositoryPath(spec.namespace)) throw configError(spec, 'namespace is not a valid repository path');
  switch (spec.kind) {
    case 'namespace': {
      const api = namespaceApiFor(spec);
      if (spec.api === undefined && CANNOT_ENUMERATE.has(spec.registry.toLowerCase())) {
        throw configError(spec, `${spec.registry} cannot list a namespace; name its repositories (or use an image list)`);
      }
      if ((api === 'quay' || api === 'docker-hub') && (spec.namespace === '' || spec.namespace.includes('/'))) {
        throw configError(spec, `a ${api === 'quay' ? 'Quay' : 'Docker Hub'} namespace is one path level (an organization or user)`);
      }
      return;
    }
    case 'repositories':
      if (spec.repositories.length === 0) throw configError(spec, 'the repository list is empty');
      for (const relative of spec.repositories) checkRelative(spec, relative);
      return;
    case 'images':
      if (spec.images.length === 0) throw configError(spec, 'the image list is empty');
      for (const image of spec.images) {
        checkRelative(spec, image.repository);
        for (const named of image.tags ?? []) {
          if (!isValidTag(named.tag)) throw configError(spec, `tag ${JSON.stringify(named.tag)} of ${image.repository} is not a valid tag`);
          if (named.digest !== undefined && !isValidDigest(named.digest)) {
            throw configError(spec, `digest ${JSON.stringify(named.digest)} of ${image.repository}:${named.tag} is not algorithm:hex`);
          }
        }
      }
      return;
  }
}
