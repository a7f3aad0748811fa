import { connect, createServer, type Socket } from 'node:net';
import { listenOnLoopback, stopWithHarness } from '../test/support/proxy.js';

/**
 * A far-away registry on loopback: a TCP proxy that holds every chunk for RTT/2 before passing it on, in each
 * direction (this kernel has no netem). Only latency is added, never a bandwidth cap, so what it measures is how
 * many round trips a client waits for in a row. Chunks leave in the order they came (timers of the same delay fire
 * in the order they were set), so the byte stream is untouched.
 */
export interface DelayProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  rttMs: number;
  stop(): Promise<void>;
}

// Each direction is a half of the TCP connection: a FIN travels like data (after the same delay, behind the data
// sent before it), and a reset tears both halves down at once.
function delayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed && !to.writableEnded) to.write(chunk);
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
  // closed without a FIN (destroyed): the other half goes too, once what was already sent has arrived
  from.on('close', () => setTimeout(() => to.writableEnded || to.destroy(), delayMs));
}

/** Starts a delay proxy to `upstream` (`host:port`) adding `rttMs` of round-trip time. */
export async function startDelayProxy(upstream: string, rttMs: number): Promise<DelayProxy> {
  const [upstreamHost, upstreamPort] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const remote = connect({ host: upstreamHost, port: upstreamPort, allowHalfOpen: true });
    for (const socket of [client, remote]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    delayed(client, remote, rttMs / 2);
    delayed(remote, client, rttMs / 2);
  });
  const host = await listenOnLoopback(server, `delay proxy → ${upstream}`);
  const stop = stopWithHarness(`delay proxy ${host}`, server, () => sockets.forEach((socket) => socket.destroy()));
  return { host, url: `http://${host}`, rttMs, stop };
}
