import assert from 'node:assert/strict';
import { GcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { executePlan } from '../../src/reconcile/execute.js';
import type { PlanItem } from '../../src/reconcile/plan.js';
import type { CopyRequest, Transport } from '../../src/transports/transport.js';

const digest = `sha256:${'a'.repeat(64)}`;
const item = (repository: string): PlanItem => ({
  key: repository,
  tag: '1',
  source: { registry: 'src.example', repository, tag: '1' },
  target: { registry: 'dst.example', repository, tag: '1' },
  sourceName: `src.example/${repository}:1`,
  targetName: `dst.example/${repository}:1`,
  sourceDigest: digest,
  reason: 'new',
});

/** A transport whose answers are scripted per repository: each call takes the next answer. */
function scripted(answers: Record<string, Array<Error | 'ok'>>): Transport & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'registry',
    calls,
    async copy(request: CopyRequest) {
      calls.push(request.source.repository);
      const next = answers[request.source.repository]!.shift();
      if (next instanceof Error) throw next;
      return { sourceDigest: request.sourceDigest, targetDigest: digest, platforms: ['linux/amd64'], digestPreserved: true, bytesUploaded: 1, warnings: [] };
    },
    async close() {},
  };
}

const deps = (transport: Transport) => ({
  transport,
  logger: silentLogger,
  headTarget: async () => ({ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 }),
});

describe('executePlan: verifying a copy', () => {
  const other = `sha256:${'b'.repeat(64)}`;
  const copying = (confirmed: boolean | undefined): Transport => ({
    name: 'registry',
    async copy(request: CopyRequest) {
      return { sourceDigest: request.sourceDigest, targetDigest: digest, ...(confirmed !== undefined && { confirmed }), platforms: ['linux/amd64'], digestPreserved: true, bytesUploaded: 1, warnings: [] };
    },
    async close() {},
  });
  const heads = (answer: string | undefined) => {
    const asked: string[] = [];
    const headTarget = async (repo: { repository: string }, reference: string) => {
      asked.push(`${repo.repository}:${reference}`);
      return answer === undefined ? undefined : { digest: answer, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
    };
    return { asked, headTarget };
  };

  it('takes the digest the PUT answer named as the proof, without a HEAD', async () => {
    const { asked, headTarget } = heads(other);
    const [outcome] = await executePlan([item('a')], { transport: copying(true), logger: silentLogger, headTarget }, { concurrency: 1, signal: UNINTERRUPTED });
    assert.equal(outcome?.status, 'synced');
    assert.equal(outcome?.targetDigest, digest);
    assert.deepEqual(asked, []);
  });
  for (const confirmed of [false, undefined]) {
    it(`HEADs the mirror when the push named no digest (confirmed: ${confirmed}) and records what the HEAD says`, async () => {
      const { asked, headTarget } = heads(digest);
      const [outcome] = await executePlan([item('a')], { transport: copying(confirmed), logger: silentLogger, headTarget }, { concurrency: 1, signal: UNINTERRUPTED });
      assert.equal(outcome?.status, 'synced');
      assert.deepEqual(asked, ['a:1']);
    });
  }
  it('fails an unconfirmed copy whose mirror holds another digest, or none', async () => {
    for (const [answer, code] of [[other, 'DIGEST_MISMATCH'], [undefined, 'NOT_FOUND']] as const) {
      const { headTarget } = heads(answer);
      const [outcome] = await executePlan([item('a')], { transport: copying(false), logger: silentLogger, headTarget }, { concurrency: 1, signal: UNINTERRUPTED });
      assert.equal(outcome?.status, 'failed');
      assert.equal((outcome?.error as GcrsyncError).code, code);
    }
  });
});

describe('executePlan', () => {
  it('tries an image that failed on a registry fault once more, after the others', async () => {
    const transport = scripted({ a: [new GcrsyncError('REGISTRY', 'PUT manifest: HTTP 400 DIGEST_INVALID', { status: 400, registryCode: 'DIGEST_INVALID' }), 'ok'], b: ['ok'] });
    const outcomes = await executePlan([item('a'), item('b')], deps(transport), { concurrency: 1, signal: UNINTERRUPTED });
    assert.deepEqual(transport.calls, ['a', 'b', 'a']);
    assert.deepEqual(outcomes.map((o) => [o.item.key, o.status]), [['b', 'synced'], ['a', 'synced']]);
  });
  it('gives up after the second failure and reports it', async () => {
    const fault = () => new GcrsyncError('REGISTRY', 'HTTP 502', { status: 502 });
    const transport = scripted({ a: [fault(), fault()] });
    const [outcome] = await executePlan([item('a')], deps(transport), { concurrency: 2, signal: UNINTERRUPTED });
    assert.equal(outcome?.status, 'failed');
    assert.equal(transport.calls.length, 2);
  });
  for (const code of ['DIGEST_MISMATCH', 'UNSUPPORTED', 'NOT_FOUND', 'AUTH'] as const) {
    it(`does not repeat a copy that failed with ${code}`, async () => {
      const transport = scripted({ a: [new GcrsyncError(code, 'no')] });
      const [outcome] = await executePlan([item('a')], deps(transport), { concurrency: 1, signal: UNINTERRUPTED });
      assert.equal(outcome?.status, 'failed');
      assert.deepEqual(transport.calls, ['a']);
    });
  }
  it('starts nothing once a stop reason is given, and says why', async () => {
    const transport = scripted({ a: ['ok'], b: ['ok'] });
    let started = 0;
    const outcomes = await executePlan([item('a'), item('b')], deps(transport), {
      concurrency: 1,
      stopReason: () => (started++ >= 1 ? 'budget spent' : undefined),
      signal: UNINTERRUPTED,
    });
    assert.deepEqual(outcomes.map((o) => [o.item.key, o.status, o.skippedBecause]), [['a', 'synced', undefined], ['b', 'skipped', 'budget spent']]);
  });
});
