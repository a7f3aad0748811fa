import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { forward, listenOnLoopback, relay, stopWithHarness } from './proxy.js';

/**
 * A proxy in front of a real registry that forwards every request except those `hold` picks, which it keeps
 * waiting without an answer: a run can be caught at an exact point (say, the fifth manifest push) whatever the
 * machine's speed. The Host header goes unchanged, so follow-up URLs point back at the proxy.
 */
export interface GateProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** resolves when the first request is held */
  held: Promise<IncomingMessage>;
  /** resolves when a request is held that no earlier call was told about */
  nextHeld(): Promise<IncomingMessage>;
  stop(): Promise<void>;
}

export async function startGateProxy(upstreamUrl: string, hold: (req: IncomingMessage) => boolean): Promise<GateProxy> {
  const upstream = new URL(upstreamUrl);
  const sockets = new Set<Socket>();
  const heldRequests: IncomingMessage[] = [];
  const waiting: Array<(req: IncomingMessage) => void> = [];
  let told = 0;
  const nextHeld = () =>
    new Promise<IncomingMessage>((resolve) => {
      if (told < heldRequests.length) resolve(heldRequests[told++]!);
      else waiting.push(resolve);
    });
  const held = nextHeld();
  const server: Server = createServer((req, res) => {
    if (hold(req)) {
      heldRequests.push(req);
      const waiter = waiting.shift();
      if (waiter !== undefined) waiter(heldRequests[told++]!);
      return;
    }
    forward(req, upstream, req.headers, (upstreamRes) => relay(upstreamRes, res), () => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = await listenOnLoopback(server, 'gate proxy');
  const stop = stopWithHarness('gate proxy', server, () => {
    for (const socket of sockets) socket.destroy();
  });
  return { host, url: `http://${host}`, held, nextHeld, stop };
}
