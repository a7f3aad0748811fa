import { networkErrorCode } from './retry.js';

/**
 * One sentence for the network failures a user fixes with a flag or a file: an untrusted certificate, a registry
 * that speaks plain HTTP to an https URL (or the reverse), a missing client certificate, a proxy that refuses.
 */

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

function messageOf(error: unknown): string {
  let text = '';
  for (let e: unknown = error; e instanceof Error; e = e.cause) text += ` ${e.message} ${(e as NodeJS.ErrnoException).code ?? ''}`;
  return text;
}

/** True when an https request was answered in plain HTTP (the TLS layer read "HTTP/1.1 400" as a record). */
export function answeredPlainHttp(error: unknown): boolean {
  return /wrong version number|packet length too long|WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/i.test(messageOf(error));
}

/** Go's and nginx's answer to plain HTTP on a TLS port, as the first line of the body. */
export function isHttpsPortAnswer(status: number, body: string): boolean {
  return status === 400 && /HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port/i.test(body);
}

export function plainHttpToTlsHint(host: string): string {
  return `${host} speaks HTTPS, not plain HTTP: drop it from --insecure-registry (or "tls: http" in gcrsync.yaml)`;
}

/** The hint for a failed request to `url`, or undefined when the failure is not one of these. */
export function networkHint(error: unknown, url: URL, proxy: string | undefined): string | undefined {
  const host = url.host;
  const code = networkErrorCode(error);
  const text = messageOf(error);
  const refused = /Proxy response \((\d+)\)|Proxy Authentication Required \((\d+)\)/.exec(text);
  if (proxy !== undefined && refused && (refused[1] ?? refused[2]) === '407') {
    return `proxy ${proxy} wants credentials (HTTP 407) to reach ${host}: put user:password@ in the proxy URL (HTTPS_PROXY/HTTP_PROXY or "proxy:")`;
  }
  if (proxy !== undefined && refused) {
    return `proxy ${proxy} refused to connect to ${host} (HTTP ${refused[1]}): allow it at the proxy, or exempt the registry with NO_PROXY=${host}`;
  }
  if (proxy !== undefined && (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') && !/tunnel/i.test(text)) {
    return `cannot reach proxy ${proxy} (${code}) for ${host}: check HTTPS_PROXY/HTTP_PROXY or "proxy:" in gcrsync.yaml, or exempt the registry with NO_PROXY=${host}`;
  }
  const certCode = [...UNTRUSTED].find((c) => text.includes(c));
  if (certCode !== undefined) {
    return (
      `${host} presented a TLS certificate that is not trusted (${certCode}): put its CA in ~/.docker/certs.d/${host}/ca.crt ` +
      `(or a certs.d given with --cert-dir, or --ca-file FILE), or skip verification with --tls-skip-verify ${host}`
    );
  }
  if (/certificate required|CERTIFICATE_REQUIRED|handshake failure|HANDSHAKE_FAILURE/i.test(text)) {
    return `${host} refused the TLS handshake (it may require a client certificate): put client.cert and client.key in ~/.docker/certs.d/${host}/ (or a certs.d given with --cert-dir)`;
  }
  // TLS 1.3 servers check the client certificate after the handshake, so a missing one shows as a closed socket
  if (url.protocol === 'https:' && /other side closed/i.test(text)) {
    return `${host} closed the connection (other side closed); if it requires a client certificate, put client.cert and client.key in ~/.docker/certs.d/${host}/ (or a certs.d given with --cert-dir)`;
  }
  if (url.protocol === 'https:' && answeredPlainHttp(error)) {
    return `${host} answers plain HTTP, not HTTPS: add --insecure-registry ${host} (or "tls: http" for it in gcrsync.yaml)`;
  }
  return undefined;
}
