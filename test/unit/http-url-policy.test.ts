import { strict as assert } from 'node:assert';
import { isGcrsyncError } from '../../src/errors.js';
import { registerSecret } from '../../src/log.js';
import { checkFollowUrl, isPrivateAddress, plainHttpAllowed, registryOrigin, safeUrl } from '../../src/http/url-policy.js';

const refused = (error: unknown) => isGcrsyncError(error, 'HOSTILE_RESPONSE');

describe('http/url-policy: SSRF and scheme guards', () => {
  const publicRegistry = new URL('https://registry.example.com/v2/a/tags/list');
  const loopbackRegistry = new URL('http://127.0.0.1:5000/v2/a/tags/list');

  const allowed: Array<[string, URL, string, string]> = [
    ['relative link on the same host', publicRegistry, '/v2/a/tags/list?last=x', 'https://registry.example.com/v2/a/tags/list?last=x'],
    ['absolute https on another public host', publicRegistry, 'https://storage.example.net/blob?sig=1', 'https://storage.example.net/blob?sig=1'],
    ['loopback to loopback (other port)', loopbackRegistry, 'http://127.0.0.1:6000/token', 'http://127.0.0.1:6000/token'],
    ['loopback to localhost', loopbackRegistry, 'http://localhost:6000/x', 'http://localhost:6000/x'],
    ['plain http to a named insecure host', publicRegistry, 'http://insecure.example:5000/x', 'http://insecure.example:5000/x'],
  ];
  for (const [name, from, target, expected] of allowed) {
    it(`allows ${name}`, () => assert.equal(checkFollowUrl(from, target, ['insecure.example:5000']).href, expected));
  }

  const refusals: Array<[string, URL, string]> = [
    ['plain http to a public host', publicRegistry, 'http://storage.example.net/blob'],
    ['a private 10/8 literal', publicRegistry, 'https://10.1.2.3/x'],
    ['a private 192.168/16 literal', publicRegistry, 'https://192.168.0.10:8443/x'],
    ['a private 172.16/12 literal', publicRegistry, 'https://172.20.0.1/x'],
    ['the link-local metadata address', publicRegistry, 'https://169.254.169.254/latest/meta-data'],
    ['an IPv6 unique-local literal', publicRegistry, 'https://[fd00::1]/x'],
    ['an IPv6 link-local literal', publicRegistry, 'https://[fe80::1]/x'],
    ['an IPv4-mapped private literal', publicRegistry, 'https://[::ffff:10.0.0.1]/x'],
    ['loopback reached from a public registry', publicRegistry, 'https://127.0.0.1/x'],
    ['localhost reached from a public registry', publicRegistry, 'https://localhost:8080/x'],
    ['IPv6 loopback reached from a public registry', publicRegistry, 'https://[::1]/x'],
    ['the unspecified address', publicRegistry, 'https://0.0.0.0/x'],
    // issue 11: other spellings of loopback and private addresses
    ['localhost with a trailing dot', publicRegistry, 'https://localhost./x'],
    ['a name under localhost', publicRegistry, 'https://metadata.localhost/x'],
    ['a name under localhost, upper case, trailing dot', publicRegistry, 'https://A.LOCALHOST./x'],
    ['a NAT64 form of a private address', publicRegistry, 'https://[64:ff9b::10.0.0.1]/x'],
    ['a NAT64 form of the metadata address', publicRegistry, 'https://[64:ff9b::a9fe:a9fe]/x'],
    ['a NAT64 form of loopback', publicRegistry, 'https://[64:ff9b::127.0.0.1]/x'],
    ['an IPv4-compatible private literal', publicRegistry, 'https://[::10.0.0.1]/x'],
    ['an IPv4-compatible metadata literal', publicRegistry, 'https://[::169.254.169.254]/x'],
    ['an IPv4-compatible loopback literal', publicRegistry, 'https://[::127.0.0.1]/x'],
    ['a non-http scheme', publicRegistry, 'file:///etc/passwd'],
    ['userinfo in the URL', publicRegistry, 'https://user:pw@storage.example.net/x'],
    ['an unparsable URL', publicRegistry, 'https://[nope/x'],
  ];
  for (const [name, from, target] of refusals) {
    it(`refuses ${name}`, () => assert.throws(() => checkFollowUrl(from, target, []), refused));
  }

  it('allows a private literal when the host does not change', () => {
    const from = new URL('https://10.0.0.5/v2/');
    assert.equal(checkFollowUrl(from, '/v2/a/tags/list', []).host, '10.0.0.5');
  });

  it('classifies addresses', () => {
    assert.ok(isPrivateAddress('10.0.0.1'));
    assert.ok(isPrivateAddress('[fe80::1]'));
    assert.ok(!isPrivateAddress('8.8.8.8'));
    assert.ok(!isPrivateAddress('registry.example.com'));
    assert.ok(!isPrivateAddress('127.0.0.1'), 'loopback is judged separately');
  });

  it('chooses http only for loopback and insecure registries', () => {
    assert.equal(registryOrigin('127.0.0.1:5000', []), 'http://127.0.0.1:5000');
    assert.equal(registryOrigin('localhost:5000', []), 'http://localhost:5000');
    assert.equal(registryOrigin('gcr.io', []), 'https://gcr.io');
    assert.equal(registryOrigin('reg.lan:5000', ['reg.lan']), 'http://reg.lan:5000');
    assert.ok(!plainHttpAllowed('reg.lan:5000', ['reg.lan:6000']));
  });

  it('redacts userinfo, token query values and registered secrets from URLs', () => {
    registerSecret('s3cr3t-signature-value');
    const text = safeUrl('https://u:p@storage.example/b?X-Amz-Signature=s3cr3t-signature-value&token=abc123&n=2');
    assert.ok(!text.includes('u:p@'), text);
    assert.ok(!text.includes('abc123'), text);
    assert.ok(!text.includes('s3cr3t-signature-value'), text);
    assert.ok(text.includes('n=2'), text);
    const signed = safeUrl('https://bucket.s3.amazonaws.com/blob?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=abcdef0123&X-Goog-Signature=fedcba&sig=zzz&part=1');
    assert.ok(!/AKIAEXAMPLE|abcdef0123|fedcba|zzz/.test(signed), signed);
    assert.ok(signed.includes('part=1'), signed);
  });
});
