import type { AuthTarget } from '../auth/authenticator.js';
import { CATALOG_SCOPE, repositoryScope } from '../auth/scope.js';
import { GcrsyncError } from '../errors.js';
import { nextLinkTarget } from '../http/link.js';
import { errorForResponse } from '../http/status-error.js';
import { safeUrl } from '../http/url-policy.js';
import { formatRepository } from '../ref/reference.js';
import { checkRepository, type RegistryRequests, type RepositoryRef } from './request.js';
import { parseCatalog, parseGoogleTagList, parseTagList, type GoogleTagList } from './schemas.js';

const LISTING_LIMIT = 16 * 1024 * 1024;
const MAX_PAGES = 10_000;

/**
 * Totals one paginated listing (a repository's tags, a catalog, a Google node) may reach across all its pages:
 * the 16 MiB cap is per page, and a registry can send pages forever (6.7 GB of memory was seen).
 */
export interface ListingCaps {
  /** tags, catalog entries, or a Google node's child + tags + manifest entries */
  maxEntries: number;
  /** bytes of all pages together */
  maxBytes: number;
}

// ten times the biggest real repositories (k8s-staging images with ~20 000 tags), a few hundred MB of memory at most
export const DEFAULT_LISTING_CAPS: ListingCaps = { maxEntries: 200_000, maxBytes: 64 * 1024 * 1024 };
const GOOGLE_PAGE_SIZE = 10_000;
const DEFAULT_PAGE_SIZE = 1000;

/**
 * Hosts that serve Google's listing extension and accept n=10000: ggcr google/options.go isGoogle (gcr.io and its
 * regional and k8s hosts, Artifact Registry, *.google.com) plus registry.k8s.io, which redirects to Artifact Registry.
 * The one definition: listing page sizes and the choice of source lister both ask it.
 */
export function isGoogleHost(registry: string): boolean {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  return (
    host === 'gcr.io' || host.endsWith('.gcr.io') || host === 'registry.k8s.io' || host.endsWith('.pkg.dev') || host.endsWith('.google.com')
  );
}

/** Paginated listing: tags/list, _catalog and the gcr.io listing extension. */
export class RegistryLister {
  /** `pageSize`: `n` for every page (default 1000; Google hosts get 10000) */
  constructor(
    private readonly requests: RegistryRequests,
    private readonly pageSize: number | undefined,
    private readonly caps: ListingCaps = DEFAULT_LISTING_CAPS,
  ) {}

  /** Every tag of a repository, following Link pagination (relative or absolute; a repeated URL is refused). */
  async listTags(repo: RepositoryRef, signal: AbortSignal): Promise<string[]> {
    checkRepository(repo.repository);
    const target = this.requests.target(repo.registry);
    const url = new URL(`/v2/${repo.repository}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(repo.registry)));
    const tags: string[] = [];
    await this.paginate(target, [repositoryScope(repo.repository, ['pull'])], url, `tags of ${formatRepository(repo)}`, signal, (body, where) => {
      // no push(...page): a page of a million tags would overflow the call stack
      for (const tag of parseTagList(body, where).tags) tags.push(tag);
      return tags.length;
    });
    return tags;
  }

  /**
   * gcr.io/Artifact Registry listing of `path` ('' = the registry root) with `child` and `manifest`; undefined
   * when the registry answered a plain tag list without the extension.
   */
  async listGoogle(registry: string, path: string, signal: AbortSignal): Promise<GoogleTagList | undefined> {
    if (path !== '') checkRepository(path);
    const target = this.requests.target(registry);
    const url = new URL(path === '' ? '/v2/tags/list' : `/v2/${path}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSize ?? GOOGLE_PAGE_SIZE));
    const scopes = path === '' ? [] : [repositoryScope(path, ['pull'])];
    let merged: GoogleTagList | undefined;
    let children = new Set<string>();
    let plain = false;
    await this.paginate(target, scopes, url, `listing of ${registry}/${path}`, signal, (body, where) => {
      const page = parseGoogleTagList(body, where);
      if (!page) {
        plain = true;
        return 0;
      }
      if (!merged) {
        merged = page;
        children = new Set(page.child);
      } else {
        for (const child of page.child) {
          if (children.has(child)) continue;
          children.add(child);
          merged.child.push(child);
        }
        for (const tag of page.tags) merged.tags.push(tag);
        Object.assign(merged.manifest, page.manifest);
      }
      return merged.child.length + merged.tags.length + Object.keys(merged.manifest).length;
    });
    if (plain || !merged) return undefined;
    if (Object.keys(merged.manifest).length >= GOOGLE_PAGE_SIZE) {
      this.requests.logger.warn('listing hit the registry page cap; some images may be missing', { registry, path, count: GOOGLE_PAGE_SIZE });
    }
    return merged;
  }

  /** Repositories from `_catalog` (self-hosted registries; Docker Hub, ghcr.io and registry.k8s.io don't serve it). */
  async catalog(registry: string, signal: AbortSignal): Promise<string[]> {
    const target = this.requests.target(registry);
    const url = new URL('/v2/_catalog', target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(registry)));
    const repositories: string[] = [];
    await this.paginate(target, [CATALOG_SCOPE], url, `catalog of ${registry}`, signal, (body, where) => {
      for (const repository of parseCatalog(body, where)) repositories.push(repository);
      return repositories.length;
    });
    return repositories;
  }

  private pageSizeFor(registry: string): number {
    return this.pageSize ?? (isGoogleHost(registry) ? GOOGLE_PAGE_SIZE : DEFAULT_PAGE_SIZE);
  }

  /**
   * GETs `first` and every `rel="next"` page after it, handing each JSON body to `take`, which answers how many
   * entries the listing holds so far. Past the caps (entries, bytes of all pages) the listing is HOSTILE_RESPONSE.
   */
  private async paginate(
    target: AuthTarget,
    scopes: string[],
    first: URL,
    what: string,
    signal: AbortSignal,
    take: (body: unknown, where: string) => number,
  ): Promise<void> {
    const { http } = this.requests;
    const seen = new Set<string>();
    let bytes = 0;
    let url: URL | undefined = first;
    while (url) {
      if (seen.has(url.href)) throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: pagination loops back to ${safeUrl(url)}`, { ref: what });
      if (seen.size >= MAX_PAGES) throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: more than ${MAX_PAGES} pages`, { ref: what });
      seen.add(url.href);
      const page: URL = url;
      const { response, body } = await http.readRetrying(async () => {
        const answer = await this.requests.send(target, scopes, { method: 'GET', url: page, headers: { accept: 'application/json' } }, signal);
        if (answer.status !== 200) throw await errorForResponse(answer, `${what} (${safeUrl(page)})`);
        return { response: answer, body: await answer.json(LISTING_LIMIT) };
      }, signal);
      // checked after the page: the total overshoots the cap by one page (16 MiB) at most
      bytes += response.bytesRead;
      if (bytes > this.caps.maxBytes) {
        throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: more than ${this.caps.maxBytes} bytes across its pages (the listing cap)`, { ref: what });
      }
      const entries = take(body, `${what} (${safeUrl(response.url)})`);
      if (entries > this.caps.maxEntries) {
        throw new GcrsyncError('HOSTILE_RESPONSE', `${what}: more than ${this.caps.maxEntries} entries across its pages (the listing cap)`, { ref: what });
      }
      // the spec says follow Link verbatim; a short page does not mean the end, only a missing Link does
      const next = nextLinkTarget(response.headers.get('link'));
      url = next === undefined ? undefined : http.followUrl(response.url, next);
    }
  }
}
