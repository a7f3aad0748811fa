import { apiFront, NO_CATALOG, oneLevelUnder, upstreamRepositories, type ApiFront, type FrontAnswer } from './api-front.js';
import { MANIFEST_ACCEPT, registryRequest, type RegistryEndpoint } from './images.js';

/**
 * A Docker Hub stand-in in front of a real registry, serving both of Hub's faces on one host:
 * - the web API, `GET /v2/namespaces/<ns>/repositories?page_size=N&page=P` → `{count,next,previous,results}`
 *   with absolute `next`/`previous` URLs (page_size capped at 100, default 10, like Hub); 404 for a namespace
 *   with no repository; and `GET /v2/namespaces/<ns>/repositories/<repo>/tags` with each tag's digest, media type
 *   and per-platform `images`, paged the same way;
 * - the registry, proxied to the upstream, with no usable `_catalog`. With `pullLimit`, every manifest answer
 *   carries `ratelimit-limit`/`ratelimit-remaining` as registry-1.docker.io sends them; each manifest GET spends
 *   one pull (HEADs and 401 challenges are free, as on Hub) and a GET with nothing left gets Hub's 429 TOOMANYREQUESTS.
 */
export interface HubFrontOptions {
  /** the anonymous pull budget per window; undefined sends no rate-limit headers */
  pullLimit?: number;
  /** largest page the web API serves (Hub: 100); tests lower it to see paging without pushing 100 repositories */
  maxPageSize?: number;
  inject?: Record<string, FrontAnswer>;
}

export interface HubFront extends ApiFront {
  /** pulls left in the budget */
  remaining(): number;
  /** manifest GETs refused with 429 for lack of budget */
  refused(): number;
}

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 10;
const WINDOW = 'w=21600';
const NAMESPACE_ROUTE = /^\/v2\/namespaces\/([^/]+)\/repositories\/?$/;
const TAGS_ROUTE = /^\/v2\/namespaces\/([^/]+)\/repositories\/([^/]+)\/tags\/?$/;

/** Hub's tags API entries for a repository, from the upstream's tags and manifests (digest, media type, platform images). */
async function hubTags(upstream: RegistryEndpoint, repository: string): Promise<unknown[]> {
  const res = await registryRequest(upstream, `repository:${repository}:pull`, `/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`upstream tags of ${repository}: HTTP ${res.status}`);
  const tags = (((await res.json()) as { tags?: string[] | null }).tags ?? []).sort();
  const results: unknown[] = [];
  for (const tag of tags) {
    const manifest = await registryRequest(upstream, `repository:${repository}:pull`, `/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } });
    const mediaType = (manifest.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const body = (await manifest.json()) as { manifests?: Array<{ digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } }> };
    const images = (body.manifests ?? []).map((child) => ({ ...child.platform, digest: child.digest, size: child.size, status: 'active' }));
    results.push({
      name: tag,
      digest: manifest.headers.get('docker-content-digest'),
      media_type: mediaType,
      content_type: 'image',
      images,
      tag_status: 'active',
      last_updated: '2024-01-01T00:00:00.000000Z',
    });
  }
  return results;
}
const MANIFEST_ROUTE = /^\/v2\/.+\/manifests\/[^/]+$/;

function positiveInteger(value: string | null, fallback: number): number | undefined {
  if (value === null) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

export async function hubFront(upstream: RegistryEndpoint, options: HubFrontOptions = {}): Promise<HubFront> {
  const limit = options.pullLimit;
  const maxPageSize = options.maxPageSize ?? MAX_PAGE_SIZE;
  let remaining = limit ?? 0;
  let refused = 0;
  const front = await apiFront(
    'hub front',
    upstream,
    {
      async route(req, url, frontUrl) {
        if (url.pathname === '/v2/_catalog') return NO_CATALOG;
        const tagsRoute = req.method === 'GET' ? TAGS_ROUTE.exec(url.pathname) : null;
        if (tagsRoute) {
          const [namespace, name] = [decodeURIComponent(tagsRoute[1]!), decodeURIComponent(tagsRoute[2]!)];
          const pageSize = Math.min(positiveInteger(url.searchParams.get('page_size'), DEFAULT_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE, maxPageSize);
          const page = positiveInteger(url.searchParams.get('page'), 1) ?? 1;
          const all = await hubTags(upstream, `${namespace}/${name}`);
          if (all.length === 0) return { status: 404, body: { message: 'object not found', errinfo: {} } };
          const start = (page - 1) * pageSize;
          const next = new URL(url.pathname, frontUrl);
          next.searchParams.set('page', String(page + 1));
          next.searchParams.set('page_size', String(pageSize));
          return { body: { count: all.length, next: start + pageSize < all.length ? next.href : null, previous: null, results: all.slice(start, start + pageSize) } };
        }
        const match = req.method === 'GET' ? NAMESPACE_ROUTE.exec(url.pathname) : null;
        if (!match) return undefined;
        const namespace = decodeURIComponent(match[1]!);
        const page = positiveInteger(url.searchParams.get('page'), 1);
        const requested = positiveInteger(url.searchParams.get('page_size'), DEFAULT_PAGE_SIZE);
        if (page === undefined || requested === undefined) return { status: 400, body: { message: 'invalid page or page_size' } };
        const pageSize = Math.min(requested, maxPageSize);
        const names = oneLevelUnder(await upstreamRepositories(upstream), namespace);
        if (names.length === 0) return { status: 404, body: { message: `namespace ${namespace} not found`, errinfo: {} } };
        const pageUrl = (n: number) => {
          const u = new URL(`/v2/namespaces/${namespace}/repositories`, frontUrl);
          u.searchParams.set('page', String(n));
          u.searchParams.set('page_size', String(pageSize));
          return u.href;
        };
        const start = (page - 1) * pageSize;
        const results = names.slice(start, start + pageSize).map((name) => ({
          name,
          namespace,
          repository_type: 'image',
          status: 1,
          is_private: false,
          star_count: 0,
          pull_count: 0,
          last_updated: '2024-01-01T00:00:00.000000Z',
        }));
        return {
          body: {
            count: names.length,
            next: start + pageSize < names.length ? pageUrl(page + 1) : null,
            previous: page > 1 ? pageUrl(page - 1) : null,
            results,
          },
        };
      },
      proxied(req, url) {
        if (limit === undefined || !MANIFEST_ROUTE.test(url.pathname)) return {};
        // registry-1.docker.io wants a token even for anonymous pulls: a GET without one is only challenged (401)
        // and spends nothing, so where the upstream asks for credentials only an authorized GET is a pull
        const challenged = upstream.credentials !== undefined && req.headers.authorization === undefined;
        if (req.method === 'GET' && !challenged) {
          if (remaining === 0) {
            refused += 1;
            return {
              replace: {
                status: 429,
                headers: { 'ratelimit-limit': `${limit};${WINDOW}`, 'ratelimit-remaining': `0;${WINDOW}` },
                body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] },
              },
            };
          }
          remaining -= 1;
        }
        return { headers: { 'ratelimit-limit': `${limit};${WINDOW}`, 'ratelimit-remaining': `${remaining};${WINDOW}` } };
      },
    },
    options.inject,
  );
  return { ...front, remaining: () => remaining, refused: () => refused };
}
