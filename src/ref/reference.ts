import { GcrsyncError } from '../errors.js';

/**
 * An image reference parsed once at the edge with the distribution grammar; everything after works on
 * the parts, and `formatReference` is the only way back to a string.
 */
export interface Reference {
  /** canonical registry host[:port]; Docker Hub is `docker.io` */
  registry: string;
  /** repository path, lowercase components joined by `/` (Hub one-segment names get `library/`) */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API actually answers. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

// distribution/reference grammar (reference.go)
const pathComponent = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const sha256Pattern = /^sha256:[a-f0-9]{64}$/;
const hostPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

function bad(input: string, why: string): GcrsyncError {
  return new GcrsyncError('BAD_REFERENCE', `invalid reference ${JSON.stringify(input)}: ${why}`, { ref: input });
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function isValidDigest(digest: string): boolean {
  return digestPattern.test(digest) && (!digest.startsWith('sha256:') || sha256Pattern.test(digest));
}

/** True when every `/`-separated component follows the grammar (no `..`, no empty parts, lowercase). */
export function isValidRepositoryPath(path: string): boolean {
  if (path.length === 0 || path.length > MAX_NAME_LENGTH) return false;
  return path.split('/').every((c) => pathComponent.test(c));
}

export function isValidRegistryHost(host: string): boolean {
  return hostPattern.test(host);
}

/** A registry host is named by a first segment with `.` or `:`, `localhost`, or uppercase letters (normalize.go). */
function looksLikeHost(segment: string): boolean {
  return segment.includes('.') || segment.includes(':') || segment === 'localhost' || segment !== segment.toLowerCase();
}

export function normalizeRegistry(host: string): string {
  const lower = host.toLowerCase();
  if (lower === 'index.docker.io' || lower === 'registry-1.docker.io') return DOCKER_HUB;
  return host;
}

/**
 * Parses `[host/]path[:tag][@digest]`. Hub defaults: `nginx` → `docker.io/library/nginx`.
 * No default tag is added: a bare repository means "every tag" to the callers that allow it.
 */
export function parseReference(input: string): Reference {
  const text = input.trim();
  if (text.length === 0) throw bad(input, 'empty');
  if (/\s/.test(text)) throw bad(input, 'contains white space');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) throw bad(input, `digest ${JSON.stringify(digest)} is not algorithm:hex`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!isValidTag(tag)) throw bad(input, `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && looksLikeHost(parts[0]!)) {
    registry = normalizeRegistry(parts.shift()!);
    if (!isValidRegistryHost(registry)) throw bad(input, `registry ${JSON.stringify(registry)} is not a host[:port]`);
  }
  let repository = parts.join('/');
  if (registry === DOCKER_HUB && parts.length === 1) repository = `library/${repository}`;
  if (repository !== repository.toLowerCase()) throw bad(input, 'repository must be lowercase');
  if (!isValidRepositoryPath(repository)) {
    throw bad(input, `repository ${JSON.stringify(repository)} must be lowercase components [a-z0-9] joined by . _ __ - and /`);
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) throw bad(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/**
 * Parses a registry plus optional path prefix, as given to `--source` and `--target`
 * (`gcr.io/google-containers`, `127.0.0.1:5000`, `docker.io/gcrxio`). A first segment without `.`/`:`
 * means Docker Hub (`gcrxio` → `docker.io/gcrxio`).
 */
export function parseLocation(input: string): { registry: string; path: string } {
  const text = input.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  if (text.length === 0) throw bad(input, 'empty');
  const parts = text.split('/');
  let registry = DOCKER_HUB;
  if (looksLikeHost(parts[0]!)) registry = normalizeRegistry(parts.shift()!);
  if (!isValidRegistryHost(registry)) throw bad(input, `registry ${JSON.stringify(registry)} is not a host[:port]`);
  const path = parts.join('/');
  if (path !== '' && !isValidRepositoryPath(path)) {
    throw bad(input, `path ${JSON.stringify(path)} must be lowercase components [a-z0-9] joined by . _ __ - and /`);
  }
  return { registry, path };
}

export function formatRepository(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: Reference): string {
  // joined, not concatenated: V8 keeps a concatenation as a tree of 32-byte nodes, and a big namespace's plan keeps
  // two names per tag for the whole run
  const parts = [ref.registry, '/', ref.repository];
  if (ref.tag !== undefined) parts.push(':', ref.tag);
  if (ref.digest !== undefined) parts.push('@', ref.digest);
  return parts.join('');
}

/** The host to send HTTP requests to: Docker Hub's registry API does not live at docker.io. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** Loopback registries may be spoken to over plain HTTP without being named insecure. */
export function isLoopbackHost(registry: string): boolean {
  // `[::1]:5000` and `[::1]` carry brackets; a bare `::1` has no port to strip
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  const host = bracketed ? bracketed[1]! : registry.split(':').length > 2 ? registry : registry.replace(/:\d+$/, '');
  // RFC 6761: `localhost`, with a trailing dot too, and every name under it resolve to loopback
  return /^(?:[^.]+\.)*localhost\.?$/i.test(host) || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
