import { startFaultProxy, type FaultProxy } from '../test/support/fault-proxy.js';

/**
 * Requests a client sent, by kind: the method and what the path names (manifest, blob, upload, tags, catalog, ping,
 * token). A recording proxy (the fault proxy with no faults) sits in front of a registry; `since()` marks where a
 * run starts so one proxy serves several runs.
 */
export type RequestCounts = Record<string, number>;

export function requestKind(method: string, url: string): string {
  const path = new URL(url, 'http://x').pathname;
  let kind = 'other';
  if (path === '/v2/' || path === '/v2') kind = 'ping';
  else if (path === '/v2/_catalog') kind = 'catalog';
  else if (/\/tags\/list$/.test(path)) kind = 'tags';
  else if (/\/manifests\/[^/]+$/.test(path)) kind = 'manifest';
  else if (/\/blobs\/uploads\//.test(path)) kind = 'upload';
  else if (/\/blobs\/[^/]+$/.test(path)) kind = 'blob';
  else if (!path.startsWith('/v2/')) kind = 'token';
  return `${method} ${kind}`;
}

export function total(counts: RequestCounts, exclude: readonly string[] = []): number {
  return Object.entries(counts)
    .filter(([kind]) => !exclude.some((kindName) => kind.endsWith(` ${kindName}`)))
    .reduce((sum, [, n]) => sum + n, 0);
}

export function addCounts(...all: RequestCounts[]): RequestCounts {
  const out: RequestCounts = {};
  for (const counts of all) for (const [kind, n] of Object.entries(counts)) out[kind] = (out[kind] ?? 0) + n;
  return out;
}

export interface RequestCounter {
  /** `127.0.0.1:PORT` of the recording proxy */
  host: string;
  url: string;
  /** the log position to count from */
  mark(): number;
  /** requests by kind since `mark` */
  since(mark: number): RequestCounts;
  stop(): Promise<void>;
}

export async function startRequestCounter(upstreamUrl: string): Promise<RequestCounter> {
  const proxy: FaultProxy = await startFaultProxy(upstreamUrl, { seed: 0, rate: 0 });
  return {
    host: proxy.host,
    url: proxy.url,
    mark: () => proxy.log.length,
    since(mark) {
      const counts: RequestCounts = {};
      for (const record of proxy.log.slice(mark)) {
        const kind = requestKind(record.method, record.url);
        counts[kind] = (counts[kind] ?? 0) + 1;
      }
      return counts;
    },
    stop: () => proxy.stop(),
  };
}
