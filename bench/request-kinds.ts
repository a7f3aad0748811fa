import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { forward, listenOnLoopback, relay, stopWithHarness } from '../test/support/proxy.js';

/**
 * Requests a client sent, by kind: the method and what the path names (manifest, blob, upload, tags, catalog, ping,
 * token). A recording proxy sits in front of a registry; `mark()` and `since()` let one proxy serve several runs.
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

// Behind a delay proxy a client learns of a server closing an idle connection only RTT/2 later, and may send a
// request into it meanwhile: idle connections stay open longer than any run, as a registry's would.
const IDLE_MS = 600_000;

export async function startRequestCounter(upstreamUrl: string): Promise<RequestCounter> {
  const upstream = new URL(upstreamUrl);
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    log.push(requestKind(req.method ?? 'GET', req.url ?? '/'));
    // the Host header goes unchanged, so Location and Link URLs point back at the client's side of the chain
    forward(req, upstream, req.headers, (answer) => relay(answer, res), (error) => {
      if (process.env.BENCH_DEBUG) process.stderr.write(`request counter: ${req.method} ${req.url}: ${String(error)}\n`);
      res.destroy();
    });
  });
  server.keepAliveTimeout = IDLE_MS;
  server.headersTimeout = IDLE_MS + 1000;
  server.requestTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = await listenOnLoopback(server, 'request counter');
  return {
    host,
    url: `http://${host}`,
    mark: () => log.length,
    since(mark) {
      const counts: RequestCounts = {};
      for (const kind of log.slice(mark)) counts[kind] = (counts[kind] ?? 0) + 1;
      return counts;
    },
    stop: stopWithHarness(`request counter ${host}`, server, () => sockets.forEach((s) => s.destroy())),
  };
}
