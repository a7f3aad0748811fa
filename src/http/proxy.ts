import { BlockList, isIP } from 'node:net';
import { GcrsyncError } from '../errors.js';
import { registerSecret } from '../log.js';

/**
 * The proxy variables as curl and Go read them: `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/
 * `HTTP_PROXY` for http (lower case wins), and `no_proxy`/`NO_PROXY` exemptions: `*`, host names (matching
 * their subdomains too; a leading `.` or `*.` is ignored), `host:port`, IP addresses (IPv6 with or without
 * brackets) and CIDR ranges. Loopback is not exempt by itself: name it in NO_PROXY.
 */

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

interface Exemption {
  host: string;
  port?: number;
  range?: BlockList;
}

function parseEntry(raw: string): Exemption | undefined {
  const entry = raw.trim().toLowerCase();
  if (entry === '') return undefined;
  const cidr = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})$/.exec(entry);
  if (cidr && isIP(cidr[1]!) !== 0) {
    const range = new BlockList();
    range.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 4 ? 'ipv4' : 'ipv6');
    return { host: cidr[1]!, range };
  }
  if (isIP(bare(entry)) !== 0) return { host: bare(entry) };
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
  if (withPort) return { host: bare(withPort[1]!).replace(/^\*?\./, ''), port: Number(withPort[2]) };
  return { host: entry.replace(/^\*?\./, '') };
}

export function noProxyMatches(url: URL, noProxy: string): boolean {
  const host = bare(url.hostname);
  const port = url.port === '' ? DEFAULT_PORT[url.protocol] : Number(url.port);
  const family = isIP(host);
  for (const raw of noProxy.split(/[,\s]+/)) {
    if (raw.trim() === '*') return true;
    const entry = parseEntry(raw);
    if (entry === undefined) continue;
    if (entry.port !== undefined && entry.port !== port) continue;
    if (entry.range !== undefined) {
      if (family !== 0 && entry.range.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
      continue;
    }
    if (host === entry.host || (family === 0 && host.endsWith(`.${entry.host}`))) return true;
  }
  return false;
}

function checkedProxy(value: string, origin: string): string {
  // a bare host:port (as some set HTTPS_PROXY) means an http proxy, as curl reads it
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GcrsyncError('CONFIG', `${origin} is not a proxy URL`, { ref: origin });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GcrsyncError('CONFIG', `${origin}: proxy scheme ${url.protocol} is not supported (http:// or https://)`, { ref: origin });
  }
  // a proxy URL may carry user:password; the password must never reach a log line
  registerSecret(decodeURIComponent(url.password));
  return url.toString();
}

/** The proxy URL a request to `url` goes through (`configured` for every scheme, else the environment's), or undefined. */
export function proxyFor(url: URL, configured: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  if (noProxyMatches(url, noProxy)) return undefined;
  if (configured !== undefined && configured !== '') return checkedProxy(configured, 'proxy');
  const [lower, upper] = url.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY'];
  const value = env[lower] || env[upper];
  return value ? checkedProxy(value, env[lower] ? lower : upper) : undefined;
}
