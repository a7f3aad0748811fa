import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { buildLayer, pushBlobBytes, pushManifestBytes, sha256Digest, type RegistryEndpoint } from './images.js';

/**
 * Docker schema1 images as 2014–2016 registries stored them: a manifest signed with libtrust's JSON Web Signature
 * (ES256 over `protected.payload`, the `protected` header carrying `formatLength`/`formatTail` so the signed payload
 * can be cut back out of the pretty-printed document), over real gzip'd tar layers. distribution 2.8 stores them
 * only with `compatibility.schema1.enabled`, verifies every signature and refuses a `kid` that is not the key's.
 */
export const SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** libtrust's key id: SHA-256 of the DER public key, first 240 bits, base32 in 12 groups of 4 joined by `:`. */
export function libtrustKeyId(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  const b32 = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return b32.match(/.{1,4}/g)!.join(':');
}

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export interface SignOptions {
  /** the signing key (P-256); a fresh one by default */
  key?: KeyObject;
  /** a `kid` to put in the header instead of the key's own (the registry must refuse it) */
  kid?: string;
}

/**
 * Signs a schema1 payload (3-space indented JSON, as docker wrote it) the way libtrust's JSONSignature.Sign and
 * PrettySignature do: the document is the payload up to its last member, then `"signatures": [...]` and the tail.
 */
export function signSchema1(payload: Buffer, options: SignOptions = {}): Buffer {
  const text = payload.toString('utf8');
  const close = text.trimEnd().length - 1;
  if (text[close] !== '}') throw new Error('schema1 payload must be a JSON object');
  const formatLength = text.slice(0, close).trimEnd().length;
  const formatTail = text.slice(formatLength);
  const key = options.key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const jwk = publicKeyJwk(createPublicKey(key), options.kid);
  const protectedHeader = base64url(JSON.stringify({ formatLength, formatTail: base64url(formatTail), time: '2016-01-01T00:00:00Z' }));
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${base64url(payload)}`), { key, dsaEncoding: 'ieee-p1363' });
  const signatures = [{ header: { jwk, alg: 'ES256' }, signature: base64url(signature), protected: protectedHeader }];
  const indent = '   ';
  const pretty = JSON.stringify(signatures, null, indent).replaceAll('\n', `\n${indent}`);
  return Buffer.from(`${text.slice(0, formatLength)},\n${indent}"signatures": ${pretty}\n}`);
}

function publicKeyJwk(publicKey: KeyObject, kid: string | undefined): Record<string, string> {
  const { crv, x, y } = publicKey.export({ format: 'jwk' }) as { crv: string; x: string; y: string };
  return { crv, kid: kid ?? libtrustKeyId(publicKey), kty: 'EC', x, y };
}

export interface Schema1Image {
  /** the manifest digest: sha256 of the payload without signatures */
  digest: string;
  /** what was pushed: the signed document */
  bytes: Buffer;
  /** layer blob digests, oldest first, throwaway ones included */
  layers: string[];
  /** files each non-throwaway layer holds, oldest first */
  files: string[][];
  /** diff ids (sha256 of the uncompressed tar) of the non-throwaway layers, oldest first */
  diffIds: string[];
}

interface Schema1Step {
  files?: Array<{ name: string; content: Buffer }>;
  /** a metadata-only step (ENV, CMD): an empty layer with `throwaway: true` */
  command: string;
}

/** A schema1 payload over `steps` (oldest first), without pushing anything. */
export function buildSchema1(repository: string, tag: string, steps: Schema1Step[]) {
  const layers = steps.map((step) => buildLayer(step.files ?? []));
  let parent: string | undefined;
  const history = steps.map((step, i) => {
    const id = createHash('sha256').update(`${repository}:${tag} ${i}`).digest('hex');
    const entry: Record<string, unknown> = {
      id,
      ...(parent !== undefined && { parent }),
      created: `2016-01-0${(i % 9) + 1}T00:00:00Z`,
      container_config: { Cmd: ['/bin/sh', '-c', step.command] },
      ...(step.files === undefined && { throwaway: true }),
    };
    if (i === steps.length - 1) {
      Object.assign(entry, {
        architecture: 'amd64',
        os: 'linux',
        docker_version: '1.9.1',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/hello'] },
      });
    }
    parent = id;
    return { v1Compatibility: JSON.stringify(entry) };
  });
  const payload = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 1,
        name: repository,
        tag,
        architecture: 'amd64',
        fsLayers: [...layers].reverse().map((layer) => ({ blobSum: layer.digest })),
        history: [...history].reverse(),
      },
      null,
      3,
    ),
  );
  return { payload, layers };
}

/** Builds, signs and pushes a schema1 image; steps are oldest first. */
export async function pushSchema1Image(registry: RegistryEndpoint, repository: string, tag: string, steps: Schema1Step[], options: SignOptions = {}): Promise<Schema1Image> {
  const { payload, layers } = buildSchema1(repository, tag, steps);
  for (const layer of layers) await pushBlobBytes(registry, repository, layer.bytes);
  const bytes = signSchema1(payload, options);
  const answered = await pushManifestBytes(registry, repository, tag, bytes, SCHEMA1_SIGNED);
  const digest = sha256Digest(payload);
  if (answered !== digest) throw new Error(`registry answered ${answered} for a schema1 payload of digest ${digest}`);
  return {
    digest,
    bytes,
    layers: layers.map((layer) => layer.digest),
    files: steps.filter((step) => step.files !== undefined).map((step) => step.files!.map((file) => file.name)),
    diffIds: layers.filter((_, i) => steps[i]!.files !== undefined).map((layer) => layer.diffId),
  };
}
