import { apiFront, NO_CATALOG, oneLevelUnder, upstreamRepositories, type ApiFront, type FrontAnswer } from './api-front.js';
import type { RegistryEndpoint } from './images.js';

/**
 * A quay.io stand-in in front of a real registry. Like quay.io, the API lives on the registry host:
 * `GET /api/v1/repository?namespace=<ns>&public=true[&next_page=<cursor>]` answers
 * `{repositories:[{namespace,name,…}], next_page?}` from the upstream's repositories one level under `<ns>`,
 * `pageSize` per page with an opaque cursor; `_catalog` answers nothing useful; the rest is the real registry.
 */
export interface QuayFrontOptions {
  /** repositories per API page (quay.io: 100) */
  pageSize?: number;
  inject?: Record<string, FrontAnswer>;
}

export type QuayFront = ApiFront;

/** Quay's cursor is encrypted; base64 of the offset is opaque enough for a client that must not look inside. */
const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ start_index: offset })).toString('base64url');
function decodeCursor(cursor: string): number | undefined {
  try {
    const offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { start_index?: unknown }).start_index;
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

export function quayFront(upstream: RegistryEndpoint, options: QuayFrontOptions = {}): Promise<QuayFront> {
  const pageSize = options.pageSize ?? 100;
  return apiFront(
    'quay front',
    upstream,
    {
      async route(req, url) {
        if (url.pathname === '/v2/_catalog') return NO_CATALOG;
        if (req.method !== 'GET' || url.pathname !== '/api/v1/repository') return undefined;
        const namespace = url.searchParams.get('namespace');
        if (namespace === null && url.searchParams.get('public') === null) {
          return { status: 400, body: { error_message: 'namespace, starred or public are required for this API call' } };
        }
        const cursor = url.searchParams.get('next_page');
        const offset = cursor === null ? 0 : decodeCursor(cursor);
        if (offset === undefined) return { status: 400, body: { error_message: 'Invalid page token' } };
        const names = namespace === null ? [] : oneLevelUnder(await upstreamRepositories(upstream), namespace);
        const page = names.slice(offset, offset + pageSize).map((name) => ({
          namespace,
          name,
          description: null,
          is_public: true,
          kind: 'image',
          state: 'NORMAL',
          is_starred: false,
        }));
        return {
          body: { repositories: page, ...(offset + pageSize < names.length && { next_page: encodeCursor(offset + pageSize) }) },
        };
      },
    },
    options.inject,
  );
}
