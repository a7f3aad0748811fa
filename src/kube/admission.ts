import { describeError } from '../errors.js';
import type { ImageResolver } from './rewrite.js';
import { containerFields } from './pod-spec.js';

/**
 * The mutating admission webhook's decision, pure: an `admission.k8s.io/v1` AdmissionReview in, the
 * AdmissionReview to answer with out. Pods being created get their mirrored images replaced (JSONPatch);
 * ephemeral containers added through `pods/ephemeralcontainers` too. Everything else is allowed unchanged.
 *
 * The webhook must never be why a Pod is refused: once the request's uid is known, any failure of ours
 * (a bug, a strange object) answers `allowed: true` without a patch.
 */
export interface AdmissionDecision {
  /** 200, or 400 when the body is not an AdmissionReview at all (then there is no uid to answer) */
  status: number;
  body: unknown;
  patched: Array<{ path: string; from: string; to: string }>;
  notMirrored: Array<{ path: string; image: string; reason: string }>;
  /** an internal failure that was answered with allowed:true */
  error?: string;
}

const API_VERSION = 'admission.k8s.io/v1';

export function reviewAdmission(body: unknown, resolver: ImageResolver): AdmissionDecision {
  const request = isObject(body) && body['apiVersion'] === API_VERSION && body['kind'] === 'AdmissionReview' ? body['request'] : undefined;
  const uid = isObject(request) && typeof request['uid'] === 'string' ? request['uid'] : undefined;
  if (!isObject(request) || uid === undefined) {
    return {
      status: 400,
      body: { error: `expected an ${API_VERSION} AdmissionReview with a request uid` },
      patched: [],
      notMirrored: [],
    };
  }
  const decision: AdmissionDecision = { status: 200, body: allow(uid), patched: [], notMirrored: [] };
  try {
    const operations = patchesFor(request, resolver, decision);
    if (operations.length > 0) {
      decision.body = allow(uid, Buffer.from(JSON.stringify(operations)).toString('base64'));
    }
  } catch (error) {
    decision.patched = [];
    decision.body = allow(uid);
    decision.error = describeError(error);
  }
  return decision;
}

type PatchOperation = { op: 'replace'; path: string; value: string };

function patchesFor(request: Record<string, unknown>, resolver: ImageResolver, decision: AdmissionDecision): PatchOperation[] {
  const kind = request['kind'];
  if (!isObject(kind) || kind['kind'] !== 'Pod') return [];
  const object = request['object'];
  if (!isObject(object) || !isObject(object['spec'])) return [];
  const spec = object['spec'];
  const subResource = request['subResource'] ?? '';
  let fields: ReadonlyArray<(typeof containerFields)[number]>;
  let skip = new Set<string>();
  if (request['operation'] === 'CREATE' && subResource === '') {
    fields = containerFields;
  } else if (request['operation'] === 'UPDATE' && subResource === 'ephemeralcontainers') {
    // ephemeral containers cannot be changed once added, and the other containers not through this subresource:
    // only the ones this request adds may be patched
    fields = ['ephemeralContainers'];
    skip = containerNames(request['oldObject']);
  } else {
    // an update of a running Pod: a changed image would restart its container
    return [];
  }
  const operations: PatchOperation[] = [];
  for (const field of fields) {
    const containers = spec[field];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container: unknown, index) => {
      if (!isObject(container) || typeof container['image'] !== 'string') return;
      if (typeof container['name'] === 'string' && skip.has(container['name'])) return;
      const image = container['image'];
      const path = `/spec/${field}/${index}/image`;
      if (image.trim() === '' || resolver.isMirror(image)) return;
      const resolution = resolver.resolve(image);
      if (!resolution.mirrored) {
        decision.notMirrored.push({ path, image, reason: resolution.reason });
        return;
      }
      operations.push({ op: 'replace', path, value: resolution.match.mirror });
      decision.patched.push({ path, from: image, to: resolution.match.mirror });
    });
  }
  return operations;
}

function containerNames(pod: unknown): Set<string> {
  const names = new Set<string>();
  const spec = isObject(pod) ? pod['spec'] : undefined;
  const list = isObject(spec) ? spec['ephemeralContainers'] : undefined;
  if (Array.isArray(list)) for (const container of list) if (isObject(container) && typeof container['name'] === 'string') names.add(container['name']);
  return names;
}

function allow(uid: string, patch?: string): unknown {
  return {
    apiVersion: API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, allowed: true, ...(patch !== undefined && { patchType: 'JSONPatch', patch }) },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
