import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback, relay, stopWithHarness } from './proxy.js';

/**
 * A loopback server for the misbehaviour a real registry or token server never shows (echoing a token back,
 * redirecting a token request, trickling a body, never answering). `handle` answers the requests it wants to;
 * those it leaves (returns false) go to the real registry at `upstream`, or get a 404 when there is none.
 */
export interface HostileFront {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** every request seen, in arrival order: method, path and query, body (as text) */
  requests: Array<{ method: string; url: string; body: string; authorization?: string }>;
  stop(): Promise<void>;
}

export type HostileHandler = (req: IncomingMessage, res: ServerResponse, body: string) => boolean | Promise<boolean>;

export async function hostileFront(upstream: string | undefined, handle: HostileHandler): Promise<HostileFront> {
  const upstreamUrl = upstream === undefined ? undefined : new URL(upstream);
  const requests: HostileFront['requests'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    // the body is read before deciding, so a handler may look at it; it is re-sent upstream from memory
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8'), ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }) });
      Promise.resolve(handle(req, res, body.toString('utf8'))).then(
        (handled) => {
          if (handled) return;
          if (upstreamUrl === undefined) {
            res.writeHead(404).end();
            return;
          }
          const outgoing = httpRequest(
            { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: req.headers },
            (upstreamRes) => relay(upstreamRes, res),
          );
          outgoing.on('error', () => res.destroy());
          outgoing.end(body);
        },
        () => res.destroy(),
      );
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = await listenOnLoopback(server, 'hostile front');
  const stop = stopWithHarness('hostile front', server, () => {
    for (const socket of sockets) socket.destroy();
  });
  return { host, url: `http://${host}`, requests, stop };
}

/** A registry speaking Google's tags/list extension whose tree never ends: `answer(path)` is each node's answer. */
export async function endlessGoogleTree(answer: (path: string) => { child: string[]; tags?: string[] }): Promise<HostileFront> {
  return hostileFront(undefined, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://tree');
    const path = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname)?.[1];
    if (path !== undefined && req.method === 'GET') {
      const { child, tags = [] } = answer(path);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ child, manifest: {}, name: path, tags }));
      return true;
    }
    if (req.method === 'HEAD' && /\/manifests\//.test(url.pathname)) {
      res.writeHead(200, { 'docker-content-digest': `sha256:${'a'.repeat(64)}`, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '2' }).end();
      return true;
    }
    return false;
  });
}
