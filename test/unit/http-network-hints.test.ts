import assert from 'node:assert/strict';
import { networkHint } from '../../src/http/network-hints.js';

/** The errors as undici and Node raise them (message and code, with causes). */
function failure(message: string, code?: string, cause?: Error): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), code === undefined ? {} : { code });
}

describe('http/network-hints', () => {
  const url = new URL('https://reg.lan:5000/v2/');
  const proxy = 'http://proxy.corp:3128/';
  const cases: Array<[string, Error, string | undefined, RegExp | undefined]> = [
    ['a refused tunnel', failure('Proxy response (403) !== 200 when HTTP Tunneling', 'UND_ERR_ABORTED'), proxy, /proxy http:\/\/proxy\.corp:3128\/ refused to connect to reg\.lan:5000 \(HTTP 403\).*NO_PROXY=reg\.lan:5000/],
    ['a proxy that wants credentials', failure('Proxy response (407) !== 200 when HTTP Tunneling', 'UND_ERR_ABORTED'), proxy, /wants credentials \(HTTP 407\).*user:password@/],
    ['an unreachable proxy', failure('connect ECONNREFUSED 127.0.0.1:3128', 'ECONNREFUSED'), proxy, /cannot reach proxy .* \(ECONNREFUSED\) for reg\.lan:5000/],
    ['a self-signed certificate', failure('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), undefined, /not trusted \(SELF_SIGNED_CERT_IN_CHAIN\).*certs\.d\/reg\.lan:5000\/ca\.crt.*--tls-skip-verify reg\.lan:5000/],
    ['a name the certificate does not cover', failure("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'), undefined, /ERR_TLS_CERT_ALTNAME_INVALID/],
    ['plain HTTP on the https port', failure('write EPROTO', 'EPROTO', failure('ssl3_get_record:wrong version number')), undefined, /answers plain HTTP, not HTTPS: add --insecure-registry reg\.lan:5000/],
    ['a plain connection refusal without a proxy', failure('connect ECONNREFUSED', 'ECONNREFUSED'), undefined, undefined],
  ];
  for (const [name, error, via, expected] of cases) {
    it(`${name}: ${expected === undefined ? 'no hint' : 'names the fix'}`, () => {
      const hint = networkHint(error, url, via);
      if (expected === undefined) assert.equal(hint, undefined);
      else assert.match(hint ?? '', expected);
    });
  }
});
