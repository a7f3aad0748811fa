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
