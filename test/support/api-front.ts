import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { registryRequest, type RegistryEndpoint } from './images.js';
import { forward, listenOnLoopback, relay, stopWithHarness } from './proxy.js';

/**
 * The common part of the listing fronts (gcr-front, quay-front, hub-front): an HTTP server on 127.0.0.1 in front
 * of a real registry. A front answers its web API's routes itself, from the upstream's catalog; every other
 * request is proxied verbatim (registry auth challenges included), so tags, manifests and blobs are the real registry's.
 */
export interface FrontAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless it is a string or Buffer (so tests can send malformed bodies) */
  body: unknown;
}

export interface ApiFront {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** `METHOD /path?query` of every request received, in order */
  requests: string[];
  /** answer `GET pathname` (query ignored) with this instead of the computed answer; replaces an earlier one */
  inject(pathname: string, answer: FrontAnswer): void;
  stop(): Promise<void>;
}

export interface FrontHandlers {
  /** answers a request the front serves itself, or undefined to proxy it to the registry */
  route(req: IncomingMessage, url: URL, frontUrl: string): Promise<FrontAnswer | undefined> | FrontAnswer | undefined;
  /** extra headers on a proxied answer (rate-limit headers); may replace the answer, e.g. with a 429 */
  proxied?(req: IncomingMessage, url: URL): { headers?: Record<string, string>; replace?: FrontAnswer };
}

/** Every repository of the upstream, through its `_catalog` (the fronts hide `_catalog` from gcrsync). */
export async function upstreamRepositories(upstream: RegistryEndpoint): Promise<string[]> {
  const repositories: string[] = [];
  let path: string | undefined = '/v2/_catalog?n=1000';
  while (path) {
    const res = await registryRequest(upstream, 'registry:catalog:*', path);
    if (!res.ok) throw new Error(`upstream _catalog: HTTP ${res.status}`);
    const body = (await res.json()) as { repositories?: string[] };
    repositories.push(...(body.repositories ?? []));
    path = /<([^>]+)>/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return repositories;
}

/** The repositories exactly one level under `namespace` (Quay and Docker Hub have no deeper paths). */
export function oneLevelUnder(repositories: readonly string[], namespace: string): string[] {
  return repositories
    .filter((r) => r.startsWith(`${namespace}/`) && !r.slice(namespace.length + 1).includes('/'))
    .map((r) => r.slice(namespace.length + 1))
    .sort();
}

function send(res: ServerResponse, answer: FrontAnswer): void {
  const body = answer.body;
  const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', 'content-length': String(bytes.length), ...answer.headers });
  res.end(bytes);
}

export async function apiFront(name: string, upstream: RegistryEndpoint, handlers: FrontHandlers, inject: Record<string, FrontAnswer> = {}): Promise<ApiFront> {
  const upstreamUrl = new URL(upstream.url);
  const injected = new Map(Object.entries(inject));
  const requests: string[] = [];
  let frontUrl = '';

  const proxy = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const extra = handlers.proxied?.(req, url) ?? {};
    if (extra.replace) {
      req.resume();
      return send(res, extra.replace);
    }
    forward(
      req,
      upstreamUrl,
      { ...req.headers, host: upstreamUrl.host },
      (upstreamRes) => {
        const headers = { ...upstreamRes.headers, ...extra.headers };
        // the upstream's redirects (upload sessions) must lead back through the front
        if (typeof headers.location === 'string') headers.location = headers.location.replace(upstreamUrl.origin, frontUrl);
        relay(upstreamRes, res, headers);
      },
      (error) => {
        if (!res.headersSent) send(res, { status: 502, body: { errors: [{ code: 'UNKNOWN', message: `${name}: ${error.message}` }] } });
        else res.destroy(error);
      },
    );
  };

  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', frontUrl);
    const answer = req.method === 'GET' ? injected.get(url.pathname) : undefined;
    if (answer) return send(res, answer);
    Promise.resolve(handlers.route(req, url, frontUrl)).then(
      (routed) => (routed === undefined ? proxy(req, res, url) : send(res, routed)),
      (error: unknown) => send(res, { status: 500, body: { message: `${name}: ${String(error)}` } }),
    );
  });
  const host = await listenOnLoopback(server, name);
  frontUrl = `http://${host}`;
  const stop = stopWithHarness(`${name} ${frontUrl}`, server, () => server.closeAllConnections());
  return { host, url: frontUrl, requests, inject: (pathname, answer) => injected.set(pathname, answer), stop };
}

/** What quay.io and Docker Hub answer for `_catalog`: no usable catalog, so a lister must use the web API. */
export const NO_CATALOG: FrontAnswer = {
  status: 404,
  body: { errors: [{ code: 'UNSUPPORTED', message: 'The operation is unsupported.' }] },
};
