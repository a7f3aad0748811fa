import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { track } from './processes.js';

/**
 * What the loopback servers in front of a real registry (the listing fronts, the fault proxy) have in common:
 * listening on 127.0.0.1, forwarding a request upstream, relaying the answer, and stopping with the harness.
 */

/** Listens on a free loopback port; returns `127.0.0.1:PORT`. */
export async function listenOnLoopback(server: Server, name: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name} has no port`);
  return `127.0.0.1:${address.port}`;
}

/**
 * A `stop` that closes the server once, and registers it with the harness so the root hooks stop it if a test
 * does not. `dropConnections` ends the open connections, which `server.close` alone would wait for.
 */
export function stopWithHarness(name: string, server: Server, dropConnections: () => void): () => Promise<void> {
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    untrack();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      dropConnections();
    });
  };
  const untrack = track({ name, stop, kill: dropConnections });
  return stop;
}

/**
 * Sends `req` (method, path, body) to `upstream` with `headers`, and hands the answer to `answer`. A failing
 * upstream is the caller's to report (`failed`), since each server answers that in its own way.
 */
export function forward(
  req: IncomingMessage,
  upstream: URL,
  headers: IncomingHttpHeaders,
  answer: (upstreamRes: IncomingMessage) => void,
  failed: (error: Error) => void,
): void {
  const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, answer);
  outgoing.on('error', failed);
  req.pipe(outgoing);
}

/** Sends the upstream's answer on as it came, with `headers` in place of the upstream's. */
export function relay(upstreamRes: IncomingMessage, res: ServerResponse, headers: IncomingHttpHeaders = upstreamRes.headers): void {
  res.writeHead(upstreamRes.statusCode ?? 502, headers);
  upstreamRes.pipe(res);
}
