import { strict as assert } from 'node:assert';
import { parseWwwAuthenticate, pickChallenge, type Challenge } from '../../src/auth/challenge.js';
import { coversScopes, repositoryScope, unionScopes } from '../../src/auth/scope.js';

describe('auth/challenge: WWW-Authenticate parsing', () => {
  const cases: Array<{ name: string; header: string | string[]; expected: Challenge[] }> = [
    {
      name: 'Docker Hub bearer with a quoted comma in scope',
      header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      expected: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } }],
    },
    {
      name: 'basic realm',
      header: 'Basic realm="Registry Realm"',
      expected: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }],
    },
    {
      name: 'two challenges in one header',
      header: 'Basic realm="x", Bearer realm="https://r.example/token",service="r.example"',
      expected: [
        { scheme: 'basic', params: { realm: 'x' } },
        { scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'r.example' } },
      ],
    },
    {
      name: 'two headers',
      header: ['Basic realm="x"', 'Bearer realm="https://q.example/v2/auth",service="quay.io"'],
      expected: [
        { scheme: 'basic', params: { realm: 'x' } },
        { scheme: 'bearer', params: { realm: 'https://q.example/v2/auth', service: 'quay.io' } },
      ],
    },
    {
      name: 'case-insensitive scheme and keys, spaces around =',
      header: 'BEARER Realm = "https://gcr.io/v2/token" , Service=gcr.io',
      expected: [{ scheme: 'bearer', params: { realm: 'https://gcr.io/v2/token', service: 'gcr.io' } }],
    },
    {
      name: 'several scopes and an error parameter',
      header: 'Bearer realm="https://r/token",service="r",scope="repository:a:pull repository:b:pull,push",error="insufficient_scope"',
      expected: [{ scheme: 'bearer', params: { realm: 'https://r/token', service: 'r', scope: 'repository:a:pull repository:b:pull,push', error: 'insufficient_scope' } }],
    },
    {
      name: 'escaped quote in a value',
      header: 'Basic realm="say \\"hi\\", please"',
      expected: [{ scheme: 'basic', params: { realm: 'say "hi", please' } }],
    },
    {
      name: 'a scope naming host:port',
      header: 'Bearer realm="http://127.0.0.1:5001/token",scope="repository:localhost:5000/a:pull"',
      expected: [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:5001/token', scope: 'repository:localhost:5000/a:pull' } }],
    },
    { name: 'empty', header: '', expected: [] },
    { name: 'parameters without a scheme are ignored', header: 'realm="x"', expected: [] },
    { name: 'unterminated quote', header: 'Bearer realm="https://r/token', expected: [{ scheme: 'bearer', params: { realm: 'https://r/token' } }] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(parseWwwAuthenticate(c.header), c.expected));
  }

  it('prefers bearer over basic', () => {
    const picked = pickChallenge(parseWwwAuthenticate('Basic realm="x", Bearer realm="https://r/token"'));
    assert.equal(picked?.scheme, 'bearer');
    assert.equal(pickChallenge(parseWwwAuthenticate('Basic realm="x"'))?.scheme, 'basic');
    assert.equal(pickChallenge(parseWwwAuthenticate('Negotiate')), undefined);
    assert.equal(pickChallenge(parseWwwAuthenticate('Bearer service="no-realm"')), undefined);
  });
});

describe('auth/scope', () => {
  it('merges actions per resource and sorts', () => {
    assert.deepEqual(unionScopes(['repository:b:pull', 'repository:a:push'], ['repository:a:pull', 'registry:catalog:*']), [
      'registry:catalog:*',
      'repository:a:pull,push',
      'repository:b:pull',
    ]);
  });
  it('keeps host:port inside repository names', () => {
    assert.deepEqual(unionScopes(['repository:localhost:5000/a:pull', 'repository:localhost:5000/a:push']), ['repository:localhost:5000/a:pull,push']);
  });
  it('tells whether granted scopes cover wanted ones', () => {
    assert.ok(coversScopes([repositoryScope('a', ['pull', 'push'])], [repositoryScope('a', ['pull'])]));
    assert.ok(!coversScopes([repositoryScope('a', ['pull'])], [repositoryScope('a', ['pull', 'push'])]));
    assert.ok(!coversScopes([repositoryScope('a', ['pull'])], [repositoryScope('b', ['pull'])]));
    assert.ok(coversScopes(['registry:catalog:*'], ['registry:catalog:*']));
    assert.ok(coversScopes(['repository:a:pull'], []));
  });
});
