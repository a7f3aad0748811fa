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
const GOOGLE_PAGE_SIZE = 10_000;
const DEFAULT_PAGE_SIZE = 1000;

/** ggcr google/options.go isGoogle: these hosts serve the listing extension and accept n=10000. */
export function isGoogleHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'gcr.io' || host.endsWith('.gcr.io') || host.endsWith('.pkg.dev') || host.endsWith('.google.com');
}

/** Paginated listing: tags/list, _catalog and the gcr.io listing extension. */
export class RegistryLister {
  /** `pageSize`: `n` for every page (default 1000; Google hosts get 10000) */
  constructor(
    private readonly requests: RegistryRequests,
    private readonly pageSize: number | undefined,
  ) {}

  /** Every tag of a repository, following Link pagination (relative or absolute; a repeated URL is refused). */
  async listTags(repo: RepositoryRef, signal?: AbortSignal): Promise<string[]> {
    checkRepository(repo.repository);
    const target = this.requests.target(repo.registry);
    const url = new URL(`/v2/${repo.repository}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(repo.registry)));
    const tags: string[] = [];
    await this.paginate(target, [repositoryScope(repo.repository, ['pull'])], url, `tags of ${formatRepository(repo)}`, signal, (body, where) => {
      tags.push(...parseTagList(body, where).tags);
    });
    return tags;
  }

  /**
   * gcr.io/Artifact Registry listing of `path` ('' = the registry root) with `child` and `manifest`; undefined
   * when the registry answered a plain tag list without the extension.
   */
  async listGoogle(registry: string, path: string, signal?: AbortSignal): Promise<GoogleTagList | undefined> {
    if (path !== '') checkRepository(path);
    const target = this.requests.target(registry);
    const url = new URL(path === '' ? '/v2/tags/list' : `/v2/${path}/tags/list`, target.origin);
    url.searchParams.set('n', String(this.pageSize ?? GOOGLE_PAGE_SIZE));
    const scopes = path === '' ? [] : [repositoryScope(path, ['pull'])];
    let merged: GoogleTagList | undefined;
    let plain = false;
    await this.paginate(target, scopes, url, `listing of ${registry}/${path}`, signal, (body, where) => {
      const page = parseGoogleTagList(body, where);
      if (!page) {
        plain = true;
        return;
      }
      if (!merged) {
        merged = page;
        return;
      }
      merged.child.push(...page.child.filter((c) => !merged!.child.includes(c)));
      merged.tags.push(...page.tags);
      Object.assign(merged.manifest, page.manifest);
    });
    if (plain || !merged) return undefined;
    if (Object.keys(merged.manifest).length >= GOOGLE_PAGE_SIZE) {
      this.requests.logger.warn('listing hit the registry page cap; some images may be missing', { registry, path, count: GOOGLE_PAGE_SIZE });
    }
    return merged;
  }

  /** Repositories from `_catalog` (self-hosted registries; Docker Hub, ghcr.io and registry.k8s.io don't serve it). */
  async catalog(registry: string, signal?: AbortSignal): Promise<string[]> {
    const target = this.requests.target(registry);
    const url = new URL('/v2/_catalog', target.origin);
    url.searchParams.set('n', String(this.pageSizeFor(registry)));
    const repositories: string[] = [];
    await this.paginate(target, [CATALOG_SCOPE], url, `catalog of ${registry}`, signal, (body, where) => {
      repositories.push(...parseCatalog(body, where));
    });
    return repositories;
  }

  private pageSizeFor(registry: string): number {
    return this.pageSize ?? (isGoogleHost(registry) ? GOOGLE_PAGE_SIZE : DEFAULT_PAGE_SIZE);
  }

  /** GETs `first` and every `rel="next"` page after it, handing each JSON body to `take`. */
  private async paginate(
    target: AuthTarget,
    scopes: string[],
    first: URL,
    what: string,
    signal: AbortSignal | undefined,
    take: (body: unknown, where: string) => void,
  ): Promise<void> {
    const { http } = this.requests;
    const seen = new Set<string>();
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
      take(body, `${what} (${safeUrl(response.url)})`);
      // the spec says follow Link verbatim; a short page does not mean the end, only a missing Link does
      const next = nextLinkTarget(response.headers.get('link'));
      url = next === undefined ? undefined : http.followUrl(response.url, next);
    }
  }
}
