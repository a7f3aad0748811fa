import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector, Dispatcher, ProxyAgent as UndiciProxyAgent } from 'undici';
import { GcrsyncError } from '../errors.js';
import { isLoopbackHost } from '../ref/reference.js';
import { proxyFor } from './proxy.js';

/**
 * Which connection a request goes out on: straight or through a proxy (HTTPS_PROXY/HTTP_PROXY/NO_PROXY or
 * `proxy:`), and with which TLS trust (Docker's certs.d, --ca-file, client certificates, skip-verify).
 */

/** How a registry is spoken to: HTTPS with verification, HTTPS without it, or plain HTTP. */
export type TlsMode = 'verify' | 'skip-verify' | 'http';

export interface NetworkOptions {
  /** one proxy URL for http and https (`proxy:` in gcrsync.yaml); without it the environment's variables */
  proxy?: string;
  /** certs.d roots holding HOST[:PORT]/{*.crt, client.cert, client.key}; default ~/.docker/certs.d, /etc/docker/certs.d */
  certDirs?: string[];
  /** PEM file of extra CAs trusted for every registry */
  caFile?: string;
  /** per registry `host[:port]` (or `host` for every port) */
  tls?: Record<string, TlsMode>;
  /** where proxy variables and HOME are read (default process.env) */
  env?: NodeJS.ProcessEnv;
}

export interface PoolOptions {
  connections: number;
  headersTimeout: number;
  bodyTimeout: number;
  connectTimeout: number;
}

type UndiciParts = { Agent: typeof UndiciAgent; ProxyAgent: typeof UndiciProxyAgent; buildConnector: typeof undiciBuildConnector };

/**
 * The parts of undici gcrsync uses, loaded by themselves: the package's entry point loads all of it (fetch,
 * WebSocket, caches, mocks), 70 ms more CPU than these in every run that talks to a registry. Those files are undici's own layout, not its
 * API: should a release move them, the whole package loads instead.
 *
 * The entry point also installs its Agent as the process-wide dispatcher when none exists yet, and Node 20's
 * built-in fetch (an older bundled undici) then routes through it and fails ("invalid content-length header").
 * Touching a lazy fetch global first makes Node set up its own dispatcher, which the package then leaves alone:
 * gcrsync's pools stay private and fetch keeps working for everyone else in the process. The parts alone
 * install nothing.
 */
function loadUndici(): UndiciParts {
  const require = createRequire(import.meta.url);
  try {
    // what the entry point does: the calls on a dispatcher (`request` for gcrsync, `connect` for a proxy's tunnel)
    Object.assign((require('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype, require('undici/lib/api/index.js'));
    return {
      Agent: require('undici/lib/dispatcher/agent.js') as UndiciParts['Agent'],
      ProxyAgent: require('undici/lib/dispatcher/proxy-agent.js') as UndiciParts['ProxyAgent'],
      buildConnector: require('undici/lib/core/connect.js') as UndiciParts['buildConnector'],
    };
  } catch {
    void globalThis.Response;
    return require('undici') as typeof import('undici');
  }
}
const { Agent, ProxyAgent, buildConnector } = loadUndici();

/**
 * undici's connector, keeping the TLS alert a server sends before it closes: a registry that wants a client
 * certificate alerts after the TLS 1.3 handshake and hangs up, and undici reports only "other side closed";
 * the alert becomes that error's cause, so the failure is known for a refusal (not retried) and named.
 */
function connectorKeepingAlerts(options: undiciBuildConnector.BuildOptions): undiciBuildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (error, socket) => {
      let alert: Error | undefined;
      socket?.prependListener('error', (e: NodeJS.ErrnoException) => {
        if (/^ERR_SSL_.*ALERT/.test(e.code ?? '')) alert = e;
        else if (alert !== undefined && e.cause === undefined) e.cause = alert;
      });
      // undici's callback type is a union of its two shapes
      (callback as (error: Error | null, socket: unknown) => void)(error, socket);
    });
}

export function defaultCertDirs(env: NodeJS.ProcessEnv): string[] {
  return [join(env.HOME || homedir(), '.docker', 'certs.d'), '/etc/docker/certs.d'];
}

/** The mode named for `host` (`host:port` first, then the bare host name). */
export function tlsModeOf(host: string, tls: Record<string, TlsMode> | undefined): TlsMode | undefined {
  if (tls === undefined) return undefined;
  return tls[host] ?? tls[host.replace(/:\d+$/, '')];
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new GcrsyncError('CONFIG', `cannot read ${what} ${file} (${code})`, { ref: file });
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** What Docker reads from certs.d/HOST[:PORT]: every *.crt is a CA, a NAME.cert with its NAME.key is a client certificate. */
function certsDirFiles(root: string, host: string): { cas: string[]; cert?: string; key?: string } {
  const dir = join(root, host);
  const names = listDir(dir);
  const cas = names.filter((n) => n.endsWith('.crt')).map((n) => readPem(join(dir, n), 'CA certificate'));
  const certName = names.find((n) => n.endsWith('.cert'));
  if (certName === undefined) return { cas };
  const keyName = certName.replace(/\.cert$/, '.key');
  if (!names.includes(keyName)) throw new GcrsyncError('CONFIG', `client certificate ${join(dir, certName)} has no ${keyName} next to it`, { ref: join(dir, certName) });
  return { cas, cert: readPem(join(dir, certName), 'client certificate'), key: readPem(join(dir, keyName), 'client key') };
}

/**
 * The TLS options for an https registry, or undefined when Node's defaults do: extra CAs are added to the
 * public roots (as Docker does), never replace them.
 */
export function tlsOptionsFor(host: string, options: NetworkOptions): ConnectionOptions | undefined {
  const env = options.env ?? process.env;
  const extra: string[] = options.caFile === undefined ? [] : [readPem(options.caFile, '--ca-file')];
  let client: { cert: string; key: string } | undefined;
  for (const root of options.certDirs ?? defaultCertDirs(env)) {
    const found = certsDirFiles(root, host);
    extra.push(...found.cas);
    if (client === undefined && found.cert !== undefined && found.key !== undefined) client = { cert: found.cert, key: found.key };
  }
  const skip = tlsModeOf(host, options.tls) === 'skip-verify';
  if (extra.length === 0 && client === undefined && !skip) return undefined;
  return {
    ...(extra.length > 0 && { ca: [...rootCertificates, ...extra] }),
    ...client,
    ...(skip && { rejectUnauthorized: false }),
  };
}

/** One undici dispatcher per way of connecting: the plain pool, or one per registry with its own TLS or proxy. */
export class Dispatchers {
  private readonly plain: UndiciAgent;
  private readonly special = new Map<string, Dispatcher>();
  private readonly proxies = new Map<string, string | undefined>();

  constructor(
    private readonly pool: PoolOptions,
    private readonly network: NetworkOptions = {},
  ) {
    this.plain = new Agent({ ...pool, connect: connectorKeepingAlerts({ timeout: pool.connectTimeout }) });
  }

  /** The proxy a request to `url` goes through, or undefined when it goes straight. */
  proxyOf(url: URL): string | undefined {
    const key = `${url.protocol}//${url.host}`;
    if (!this.proxies.has(key)) this.proxies.set(key, proxyFor(url, this.network.proxy, this.network.env ?? process.env));
    return this.proxies.get(key);
  }

  for(url: URL): Dispatcher {
    const key = `${url.protocol}//${url.host}`;
    const known = this.special.get(key);
    if (known !== undefined) return known;
    const proxy = this.proxyOf(url);
    const tls = url.protocol === 'https:' ? tlsOptionsFor(url.host, this.network) : undefined;
    if (proxy === undefined && tls === undefined) return this.plain;
    const dispatcher =
      proxy === undefined
        ? new Agent({ ...this.pool, connect: connectorKeepingAlerts({ ...tls!, timeout: this.pool.connectTimeout }) })
        : // https is tunnelled with CONNECT; plain http is sent to the proxy as an absolute URI, as curl and Go do
          new ProxyAgent({ ...this.pool, uri: proxy, proxyTunnel: url.protocol === 'https:', ...(tls !== undefined && { requestTls: tls }) });
    this.special.set(key, dispatcher);
    return dispatcher;
  }

  async close(): Promise<void> {
    await Promise.all([this.plain.close(), ...[...this.special.values()].map((d) => d.close())]);
  }
}

/**
 * Whether a registry with no scheme chosen for it is tried over HTTPS first and spoken to over plain HTTP when it
 * answers that way: loopback registries, as crane does.
 */
export function httpsFirst(host: string, tls: Record<string, TlsMode> | undefined): boolean {
  return isLoopbackHost(host) && tlsModeOf(host, tls) === undefined;
}
