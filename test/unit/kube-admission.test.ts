import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { reviewAdmission } from '../../src/kube/admission.js';
import type { ImageResolver } from '../../src/kube/rewrite.js';
import { sampleIndex } from '../fixtures/mirrors.js';

const review = (name: string): Record<string, any> => JSON.parse(readFileSync(new URL(`../fixtures/admission/${name}`, import.meta.url), 'utf8'));

interface Answer {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string };
}

function decodePatch(answer: Answer): unknown[] | undefined {
  return answer.response.patch === undefined ? undefined : JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));
}

/** Applies `replace` operations the way the API server would, to check the patch lands where it claims. */
function applyReplaces(object: any, patch: unknown[]): any {
  const copy = structuredClone(object);
  for (const op of patch as Array<{ op: string; path: string; value: unknown }>) {
    assert.equal(op.op, 'replace');
    const parts = op.path.split('/').slice(1);
    let at = copy;
    for (const part of parts.slice(0, -1)) at = at[part];
    assert.ok(parts.at(-1)! in at, `${op.path} exists before it is replaced`);
    at[parts.at(-1)!] = op.value;
  }
  return copy;
}

describe('kube: reviewAdmission', () => {
  const index = sampleIndex();

  it('Pod CREATE: patches mirrored images in init and app containers, leaves the rest, echoes the uid', () => {
    const input = review('pod-create.json');
    const decision = reviewAdmission(input, index);
    const answer = decision.body as Answer;
    assert.equal(decision.status, 200);
    assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
    assert.equal(answer.kind, 'AdmissionReview');
    assert.equal(answer.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patchType, 'JSONPatch');
    const patch = decodePatch(answer)!;
    assert.deepEqual(patch, [
      { op: 'replace', path: '/spec/initContainers/0/image', value: 'mirror.example/k8s/kube-controller-manager:v1.28.0' },
      { op: 'replace', path: '/spec/containers/0/image', value: 'mirror.example/hub/nginx:latest' },
      { op: 'replace', path: '/spec/containers/1/image', value: 'mirror.example/k8s/pause:3.9' },
    ]);
    const patched = applyReplaces(input.request.object, patch);
    assert.deepEqual(
      patched.spec.containers.map((c: { image: string }) => c.image),
      ['mirror.example/hub/nginx:latest', 'mirror.example/k8s/pause:3.9', 'quay.io/prometheus/node-exporter:v1.6.1', 'mirror.example/k8s/pause:3.9'],
    );
    assert.deepEqual(decision.notMirrored.map((m) => [m.path, m.image]), [['/spec/containers/2/image', 'quay.io/prometheus/node-exporter:v1.6.1']]);
  });

  it('pods/ephemeralcontainers UPDATE: patches only the ephemeral container being added', () => {
    const decision = reviewAdmission(review('pod-ephemeral.json'), index);
    assert.deepEqual(decodePatch(decision.body as Answer), [
      { op: 'replace', path: '/spec/ephemeralContainers/1/image', value: 'mirror.example/k8s/pause:3.9' },
    ]);
  });

  for (const [fixture, why] of [
    ['pod-update.json', 'an update of a running Pod (a new image would restart it)'],
    ['deployment-create.json', 'kinds other than Pod (their Pods come through on their own)'],
  ] as const) {
    it(`allows ${why} without a patch`, () => {
      const input = review(fixture);
      const decision = reviewAdmission(input, index);
      assert.equal(decision.status, 200);
      assert.deepEqual(decision.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: input.request.uid, allowed: true } });
    });
  }

  it('allows the Pod unchanged when nothing in it is mirrored', () => {
    const input = review('pod-create.json');
    input.request.object.spec.initContainers = [];
    input.request.object.spec.containers = [{ name: 'x', image: 'quay.io/coreos/etcd:v3.5.0' }];
    const answer = reviewAdmission(input, index).body as Answer;
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patch, undefined);
  });

  it('never blocks a Pod on its own failure: a throwing resolver answers allowed:true without a patch', () => {
    const broken: ImageResolver = {
      isMirror: () => false,
      resolve: () => {
        throw new Error('metadata index exploded');
      },
    };
    const decision = reviewAdmission(review('pod-create.json'), broken);
    assert.equal(decision.status, 200);
    assert.deepEqual((decision.body as Answer).response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    assert.match(decision.error!, /exploded/);
  });

  it('answers odd but valid objects without a patch (no spec, non-string images, non-array lists)', () => {
    const input = review('pod-create.json');
    input.request.object.spec.containers = [{ name: 'a', image: 42 }, 'junk', null];
    input.request.object.spec.initContainers = { not: 'a list' };
    const answer = reviewAdmission(input, index).body as Answer;
    assert.deepEqual(answer.response, { uid: input.request.uid, allowed: true });
    delete input.request.object.spec;
    assert.deepEqual((reviewAdmission(input, index).body as Answer).response, { uid: input.request.uid, allowed: true });
  });

  const notReviews: Array<[string, unknown]> = [
    ['null', null],
    ['an array', []],
    ['v1beta1', { ...review('pod-create.json'), apiVersion: 'admission.k8s.io/v1beta1' }],
    ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' } } }],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'TokenReview', request: { uid: 'x' } }],
  ];
  for (const [name, body] of notReviews) {
    it(`answers 400 to something that is not a v1 AdmissionReview: ${name}`, () => {
      const decision = reviewAdmission(body, index);
      assert.equal(decision.status, 400);
      assert.match(JSON.stringify(decision.body), /AdmissionReview/);
    });
  }
});
