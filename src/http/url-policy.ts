import { BlockList, isIP } from 'node:net';
import { GcrsyncError } from '../errors.js';
import { redactAll } from '../log.js';
import { isLoopbackHost } from '../ref/reference.js';

/**
 * Which URLs gcrsync may talk to. Registries hand us URLs (Link, Location, token realm); a hostile one could
 * point at a cloud metadata service or an internal admin port, so every followed URL passes `checkFollowUrl`
 * (the SSRF guards of ggcr's list.go/fetcher.go/bearer.go).
 */

/** Host names or host:port pairs that may be spoken to over plain HTTP. */
export type InsecureHosts = readonly string[];

// Address ranges a public registry has no business sending us to (ggcr: IsPrivate/IsLinkLocal*/IsUnspecified).
const privateRanges = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv6');
}

/** `[::1]` → `::1`; URL.hostname keeps the brackets of IPv6 literals. */
function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * IPv6 forms that carry an IPv4 address in their last 32 bits → that IPv4 address: IPv4-mapped (`::ffff:a00:1`, as
 * the URL parser writes it), IPv4-compatible (`::a00:1`, from `[::10.0.0.1]`) and NAT64 (`64:ff9b::a00:1`), so
 * `[64:ff9b::10.0.0.1]` is judged as 10.0.0.1. Anything else is returned as it is.
 */
function unmapIpv4(address: string): string {
  const embedded = /^(?:::ffff:|::|64:ff9b::)(?:([0-9a-f]{1,4}):([0-9a-f]{1,4})|(\d+\.\d+\.\d+\.\d+))$/i.exec(address);
  if (!embedded) return address;
  if (embedded[3] !== undefined) return embedded[3];
  const high = parseInt(embedded[1]!, 16);
  const low = parseInt(embedded[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True for IP literals in private, link-local, multicast or unspecified ranges (loopback is judged separately). */
export function isPrivateAddress(hostname: string): boolean {
  const address = unmapIpv4(hostname.replace(/^\[|\]$/g, ''));
  const family = isIP(address);
  if (family === 0) return false;
  return privateRanges.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export function isLoopbackUrl(url: URL): boolean {
  const bare = bareHostname(url);
  const unmapped = unmapIpv4(bare);
  // isLoopbackHost reads `host[:port]`, so IPv6 literals go in with their brackets
  return isLoopbackHost(unmapped !== bare ? unmapped : url.hostname);
}

/** Plain HTTP is allowed only to loopback hosts and hosts the user named insecure (`host` or `host:port`). */
export function plainHttpAllowed(host: string, insecure: InsecureHosts): boolean {
  if (isLoopbackHost(host)) return true;
  const hostname = host.replace(/:\d+$/, '');
  return insecure.some((entry) => entry === host || entry === hostname);
}

/** The base URL of a registry's API: http for loopback/insecure hosts, https for everyone else. */
export function registryOrigin(host: string, insecure: InsecureHosts): string {
  return `${plainHttpAllowed(host, insecure) ? 'http' : 'https'}://${host}`;
}

const SECRET_QUERY_KEY = /signature|credential|token|secret|password|^sig$|^key$|^code$/i;

/** A URL as it may appear in messages and logs: no userinfo, no token-ish query values, no registered secrets. */
export function safeUrl(url: URL | string): string {
  let text: string;
  try {
    const copy = new URL(url.toString());
    copy.username = '';
    copy.password = '';
    // storage redirects carry their credential in the query (X-Amz-Signature, X-Goog-Credential, sig=…)
    for (const key of [...copy.searchParams.keys()]) {
      if (SECRET_QUERY_KEY.test(key)) copy.searchParams.set(key, '***');
    }
    text = copy.toString();
  } catch {
    text = url.toString();
  }
  return redactAll(text);
}

function refuse(target: string, why: string): GcrsyncError {
  return new GcrsyncError('HOSTILE_RESPONSE', `refusing to follow ${safeUrl(target)}: ${why}`, { ref: safeUrl(target) });
}

/** Refuses a URL gcrsync must not request at all: not http(s), userinfo, plain http to a host that needs TLS. */
export function assertRequestable(url: URL, insecure: InsecureHosts): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(url.toString(), `scheme ${url.protocol} is not http(s)`);
  if (url.username !== '' || url.password !== '') throw refuse(url.toString(), 'URLs with credentials are not accepted');
  if (url.protocol === 'http:' && !plainHttpAllowed(url.host, insecure)) {
    throw refuse(url.toString(), `plain http to ${url.host} (https required unless the registry is loopback or named insecure)`);
  }
}

/**
 * Resolves `target` (absolute or relative, as found in Link/Location/realm) against `from` and checks that it
 * may be followed: http(s) only, https unless loopback/insecure, and on a host change no private or link-local
 * IP literal, and no loopback unless `from` was loopback too. Throws HOSTILE_RESPONSE.
 */
export function checkFollowUrl(from: URL, target: string, insecure: InsecureHosts): URL {
  let next: URL;
  try {
    next = new URL(target, from);
  } catch {
    throw refuse(target, 'not a valid URL');
  }
  assertRequestable(next, insecure);
  if (next.host !== from.host) {
    const hostname = bareHostname(next);
    if (isLoopbackUrl(next) && !isLoopbackUrl(from)) throw refuse(target, `loopback host reached from ${from.host}`);
    if (isPrivateAddress(hostname)) throw refuse(target, `private or link-local address ${hostname}`);
  }
  return next;
}
