import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { forward, listenOnLoopback, relay, stopWithHarness } from './proxy.js';

/**
 * An HTTP proxy in front of a real registry (or a gcr front) that breaks a share of the requests on purpose, the
 * way networks and overloaded registries do. Which request is faulted, and how, is decided by a seeded hash of
 * the request (method, path with upload ids masked, and how many times that request was seen), so a run that
 * sends the same requests meets the same faults whatever the interleaving of concurrent requests.
 *
 * The Host header is forwarded unchanged, so the upstream builds Location and Link URLs that point back at the
 * proxy and every follow-up request passes through it too.
 */
export type FaultKind =
  /** answer 500 without asking the upstream */
  | 'status-500'
  /** answer 503 with `Retry-After: <retryAfterSeconds>` without asking the upstream */
  | 'status-503'
  /** answer 429 with `Retry-After: <retryAfterSeconds>` without asking the upstream */
  | 'status-429'
  /** destroy the connection before the upstream sees the request */
  | 'reset'
  /**
   * forward the request, send the upstream's status and headers (Content-Length included) and the first
   * `truncateAfterBytes` bytes of the body, then destroy the socket; an answer without a body (HEAD, 201) is
   * lost entirely after the upstream acted on the request
   */
  | 'truncate'
  /** forward the request after `slowMs`, then trickle the body in small pieces */
  | 'slow';

export const ALL_FAULT_KINDS: readonly FaultKind[] = ['status-500', 'status-503', 'status-429', 'reset', 'truncate', 'slow'];

export interface FaultProxyOptions {
  /** same seed + same requests → same faults */
  seed: number | string;
  /** share of requests to fault, 0..1 (changeable later with `setRate`) */
  rate: number;
  /** kinds to pick from, equally likely (default: all) */
  kinds?: readonly FaultKind[];
  /** Retry-After of 429/503 answers, in seconds (default 1) */
  retryAfterSeconds?: number;
  /** delay of a slow answer (default 300 ms) */
  slowMs?: number;
  /** body bytes a truncated answer carries before the socket dies (default: half the body, at least 1) */
  truncateAfterBytes?: number;
  /**
   * hold every request this long before handling it (faulted or not), as a registry one round trip away would
   * (changeable later with `setLatency`)
   */
  latencyMs?: number;
}

export interface FaultRecord {
  method: string;
  /** path and query as received */
  url: string;
  /** what the fault decision is keyed on: `METHOD /path` with upload ids masked */
  identity: string;
  /** Date.now() when the request arrived */
  at: number;
  fault?: FaultKind;
}

export interface FaultStats {
  requests: number;
  faulted: number;
  byKind: Record<FaultKind, number>;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** every request in arrival order, with the fault it met */
  log: FaultRecord[];
  stats(): FaultStats;
  setRate(rate: number): void;
  setLatency(ms: number): void;
  /** most requests the proxy held at once (arrived, answer not yet finished) since the start or `resetPeak` */
  peakInFlight(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

// distribution names upload sessions with UUIDs; masking them keeps the decision about "the N-th upload PUT"
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Two uniform numbers in [0, 1) derived from the seed and the request's identity. */
function draw(seed: number | string, key: string): [number, number] {
  const hash = createHash('sha256').update(`${seed}\0${key}`).digest();
  return [hash.readUInt32BE(0) / 2 ** 32, hash.readUInt32BE(4) / 2 ** 32];
}

function emptyByKind(): Record<FaultKind, number> {
  return Object.fromEntries(ALL_FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
}

export async function startFaultProxy(upstreamUrl: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const kinds = options.kinds ?? ALL_FAULT_KINDS;
  if (kinds.length === 0) throw new Error('fault proxy needs at least one fault kind');
  let rate = options.rate;
  let latencyMs = options.latencyMs ?? 0;
  let inFlight = 0;
  let peak = 0;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const slowMs = options.slowMs ?? 300;
  const log: FaultRecord[] = [];
  const seen = new Map<string, number>();
  const byKind = emptyByKind();
  const sockets = new Set<Socket>();

  const identityOf = (req: IncomingMessage): string =>
    `${req.method ?? 'GET'} ${new URL(req.url ?? '/', 'http://proxy').pathname.replace(UUID, ':uuid')}`;

  const decide = (req: IncomingMessage): FaultKind | undefined => {
    const identity = identityOf(req);
    const occurrence = (seen.get(identity) ?? 0) + 1;
    seen.set(identity, occurrence);
    const [chance, pick] = draw(options.seed, `${identity}#${occurrence}`);
    if (chance >= rate) return undefined;
    return kinds[Math.floor(pick * kinds.length)];
  };

  const reject = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
    const body = JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected fault' }] });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

  /** Sends `req` upstream and hands the answer to `answer`; a failing upstream becomes a 502. */
  const forwardOrFail = (req: IncomingMessage, res: ServerResponse, answer: (upstreamRes: IncomingMessage) => void) =>
    // the Host header goes unchanged: the upstream's Location and Link URLs then point back at the proxy
    forward(req, upstream, req.headers, answer, (error) => {
      if (!res.headersSent) reject(res, 502, { 'x-fault-proxy-error': error.message.replace(/[^\x20-\x7e]/g, '?') });
      else res.destroy();
    });

  const truncated = (upstreamRes: IncomingMessage, res: ServerResponse) => {
    const declared = Number(upstreamRes.headers['content-length'] ?? NaN);
    const hasBody = res.req.method !== 'HEAD' && !(declared === 0);
    if (!hasBody) {
      // the upstream did its work, the client never hears about it
      upstreamRes.resume();
      res.socket?.destroy();
      return;
    }
    const limit = options.truncateAfterBytes ?? Math.max(1, Math.floor((Number.isFinite(declared) ? declared : 2) / 2));
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
    res.flushHeaders();
    let sent = 0;
    let cut = false;
    upstreamRes.on('data', (chunk: Buffer) => {
      if (cut) return;
      const room = limit - sent;
      if (chunk.length >= room) {
        cut = true;
        res.write(chunk.subarray(0, room), () => res.socket?.destroy());
        upstreamRes.destroy();
        return;
      }
      sent += chunk.length;
      res.write(chunk);
    });
    // a body shorter than the limit still ends without its final bytes: the socket dies instead of ending cleanly
    upstreamRes.on('end', () => {
      if (!cut) res.socket?.destroy();
    });
  };

  const trickled = (upstreamRes: IncomingMessage, res: ServerResponse) => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
    upstreamRes.on('data', (chunk: Buffer) => {
      upstreamRes.pause();
      // pieces of at most 16 KiB, one per 5 ms: slow, but well within any client timeout
      let offset = 0;
      const next = () => {
        if (offset >= chunk.length) return upstreamRes.resume();
        const piece = chunk.subarray(offset, offset + 16 * 1024);
        offset += piece.length;
        res.write(piece, () => setTimeout(next, 5));
      };
      next();
    });
    upstreamRes.on('end', () => res.end());
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const fault = decide(req);
    log.push({ method: req.method ?? 'GET', url: req.url ?? '/', identity: identityOf(req), at: Date.now(), ...(fault !== undefined && { fault }) });
    if (fault !== undefined) byKind[fault]++;
    switch (fault) {
      case undefined:
        return forwardOrFail(req, res, (upstreamRes) => relay(upstreamRes, res));
      case 'status-500':
        req.resume();
        return reject(res, 500);
      case 'status-503':
        req.resume();
        return reject(res, 503, { 'retry-after': retryAfter });
      case 'status-429':
        req.resume();
        return reject(res, 429, { 'retry-after': retryAfter });
      case 'reset':
        return req.socket.destroy();
      case 'truncate':
        return forwardOrFail(req, res, (upstreamRes) => truncated(upstreamRes, res));
      case 'slow':
        setTimeout(() => forwardOrFail(req, res, (upstreamRes) => trickled(upstreamRes, res)), slowMs);
        return;
    }
  };

  const server: Server = createServer((req, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    res.once('close', () => inFlight--);
    if (latencyMs > 0) setTimeout(() => handle(req, res), latencyMs);
    else handle(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = await listenOnLoopback(server, 'fault proxy');
  const stop = stopWithHarness(`fault proxy ${host}`, server, () => sockets.forEach((s) => s.destroy()));
  return {
    host,
    url: `http://${host}`,
    log,
    stats: () => ({ requests: log.length, faulted: log.filter((r) => r.fault !== undefined).length, byKind: { ...byKind } }),
    setRate: (value) => {
      rate = value;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    peakInFlight: () => peak,
    resetPeak: () => {
      peak = inFlight;
    },
    stop,
  };
}
