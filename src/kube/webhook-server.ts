import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GcrsyncError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { reviewAdmission } from './admission.js';
import type { ImageResolver } from './rewrite.js';

export interface WebhookServerOptions {
  /** PEM certificate chain and private key the API server connects to */
  cert: string | Buffer;
  key: string | Buffer;
  /** default 0.0.0.0 (the Service forwards to the pod IP) */
  host?: string;
  /** default 8443; 0 picks a free port */
  port?: number;
  /** the resolver to use for the next request; the caller swaps it when the metadata is refreshed */
  resolver: () => ImageResolver;
  logger?: Logger;
  /** AdmissionReviews bigger than this are refused with 413 (default 8 MiB; the API server's own limit is 3 MiB) */
  maxBodyBytes?: number;
}

export interface WebhookServer {
  /** `https://host:port` as bound */
  url: string;
  port: number;
  /** swaps the TLS certificate for new connections (a rotated Secret) */
  setCertificate(cert: string | Buffer, key: string | Buffer): void;
  close(): Promise<void>;
}

/** Where the API server posts reviews (the MutatingWebhookConfiguration's `clientConfig.service.path`). */
export const MUTATE_PATH = '/mutate';
/** Liveness/readiness probes. */
export const HEALTH_PATH = '/healthz';

/**
 * Serves the admission webhook over HTTPS: POST /mutate takes an AdmissionReview and answers one; GET /healthz
 * answers `ok`. Requests are answered quickly and on their own: the API server's timeout is 10 s by default.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const server: Server = createServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (request, response) => {
    handle(request, response, options, logger, maxBodyBytes).catch((error: unknown) => {
      logger.error('webhook request failed', { error: String(error) });
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new GcrsyncError('CONFIG', `the webhook cannot listen on ${options.host ?? '0.0.0.0'}:${options.port ?? 8443}: ${error.code ?? error.message}`)),
    );
    server.listen(options.port ?? 8443, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `https://${host}:${address.port}`,
    port: address.port,
    setCertificate: (cert, key) => server.setSecureContext({ cert, key }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: WebhookServerOptions, logger: Logger, maxBodyBytes: number): Promise<void> {
  const path = new URL(request.url ?? '/', 'https://webhook').pathname;
  if (path === HEALTH_PATH && (request.method === 'GET' || request.method === 'HEAD')) {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (path !== MUTATE_PATH) {
    send(response, 404, { error: `not found; the webhook answers POST ${MUTATE_PATH}` });
    return;
  }
  if (request.method !== 'POST') {
    send(response, 405, { error: 'POST an AdmissionReview' });
    return;
  }
  const body = await readBody(request, maxBodyBytes);
  if (body === undefined) {
    send(response, 413, { error: `AdmissionReview larger than ${maxBodyBytes} bytes` });
    return;
  }
  let review: unknown;
  try {
    review = JSON.parse(body.toString('utf8'));
  } catch {
    send(response, 400, { error: 'the body is not JSON' });
    return;
  }
  const decision = reviewAdmission(review, options.resolver());
  const pod = describePod(review);
  if (decision.error !== undefined) logger.warn('admitted unchanged after an internal error', { pod, error: decision.error });
  for (const change of decision.patched) logger.info('rewrote image', { pod, path: change.path, from: change.from, to: change.to });
  // quoted: an image that did not parse may hold anything, line breaks included
  for (const missing of decision.notMirrored) logger.debug('image not mirrored', { pod, path: missing.path, image: JSON.stringify(missing.image) });
  send(response, decision.status, decision.body);
}

/** The body, or undefined once it passes the limit (the rest is not read). */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** `namespace/name` (or generateName…) for log lines. */
function describePod(review: unknown): string | undefined {
  const request = (review as { request?: { namespace?: unknown; name?: unknown; object?: { metadata?: { name?: unknown; generateName?: unknown } } } })?.request;
  if (typeof request !== 'object' || request === null) return undefined;
  const name = request.name ?? request.object?.metadata?.name ?? (typeof request.object?.metadata?.generateName === 'string' ? `${request.object.metadata.generateName}…` : undefined);
  return `${typeof request.namespace === 'string' ? request.namespace : '?'}/${typeof name === 'string' ? name : '?'}`;
}
