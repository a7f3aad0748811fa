import assert from 'node:assert/strict';
import { UNINTERRUPTED } from '../../src/errors.js';
import type { RepositoryRef } from '../../src/registry/client.js';
import type { Descriptor } from '../../src/registry/schemas.js';
import { createRunState } from '../../src/transports/run-state.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const withApi = { registry: 'src.example', repository: 'ns/signed' };
const withoutApi = { registry: 'src.example', repository: 'ns/plain' };

/** A client whose referrers answers come back only when the test lets them, counting the requests per repository. */
function slowClient() {
  const asked = new Map<string, number>();
  const answers: Array<() => void> = [];
  const client = {
    listTags: async () => [],
    getReferrers: (repo: RepositoryRef): Promise<Descriptor[] | undefined> => {
      asked.set(repo.repository, (asked.get(repo.repository) ?? 0) + 1);
      return new Promise((resolve) => answers.push(() => resolve(repo === withApi ? [] : undefined)));
    },
  };
  const answerAll = async () => {
    while (answers.length > 0) {
      answers.splice(0).forEach((answer) => answer());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { client, asked, answerAll };
}

describe('run state: referrers', () => {
  it('asks a repository without the API once, however many of its images are copied at the same time', async () => {
    const { client, asked, answerAll } = slowClient();
    const state = createRunState(client);
    const lookups = ['a', 'b', 'c', 'e'].map((c) => state.getReferrers(withoutApi, d(c), UNINTERRUPTED));
    await answerAll();
    assert.deepEqual(await Promise.all(lookups), [undefined, undefined, undefined, undefined]);
    assert.equal(asked.get('ns/plain'), 1);
    assert.equal(await state.getReferrers(withoutApi, d('f'), UNINTERRUPTED), undefined);
    assert.equal(asked.get('ns/plain'), 1);
  });

  it('asks for every image of a repository with the API, once its first answer says the API is there', async () => {
    const { client, asked, answerAll } = slowClient();
    const state = createRunState(client);
    const lookups = ['a', 'b', 'c'].map((c) => state.getReferrers(withApi, d(c), UNINTERRUPTED));
    await answerAll();
    assert.deepEqual(await Promise.all(lookups), [[], [], []]);
    assert.equal(asked.get('ns/signed'), 3);
  });
});

describe('run state: manifests put', () => {
  it('knows a digest put in one repository, and only there', () => {
    const state = createRunState({ listTags: async () => [], getReferrers: async () => undefined });
    const other = { registry: 'dst.example', repository: 'ns/plain' };
    state.rememberPut(withApi, d('a'));
    state.rememberPut(withApi, d('b'));
    assert.equal(state.wasPut(withApi, d('a')), true);
    assert.equal(state.wasPut(withApi, d('b')), true);
    assert.equal(state.wasPut(withApi, d('c')), false);
    assert.equal(state.wasPut(withoutApi, d('a')), false, 'another repository of the same registry');
    assert.equal(state.wasPut(other, d('a')), false, 'the same path at another registry');
  });
});
