import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { isSignatureTag, referrersFallbackTag } from '../ref/digest-tags.js';
import type { RegistryClient, RepositoryRef } from '../registry/client.js';
import { OCI_INDEX } from '../registry/media-types.js';
import { parseManifest, type Descriptor, type Manifest } from '../registry/schemas.js';

/**
 * What travels with an image so `cosign verify`, Kyverno `verifyImages`, `notation verify` and SBOM lookups keep
 * working against the mirror: its digest tags (`sha256-<hex>.sig`, `.att`, `.sbom`, … as regsync's digestTags) and
 * its OCI 1.1 referrers, read through the referrers API where the source serves it and through the fallback tag
 * `sha256-<hex>` otherwise, and published at the target so its referrers API or fallback tag lists them.
 */
export interface FollowerDeps {
  client: Pick<RegistryClient, 'getReferrers' | 'headManifest' | 'getManifest' | 'putManifest'>;
  /** copies a source tag to the same tag at the target, everything below it included; answers its content */
  copyTag(tag: string, signal: AbortSignal): Promise<Manifest>;
  /** copies one manifest (and its blobs) by digest */
  copyManifest(descriptor: Descriptor, signal: AbortSignal): Promise<void>;
  /** a warning for the image's report */
  warn(message: string): void;
  logger: Logger;
}

export interface FollowerRequest {
  source: RepositoryRef;
  target: RepositoryRef;
  /** the image's digest, the same at source and target */
  digest: string;
  /** source tags `sha256-<hex of digest>[.suffix]`, from the listing */
  digestTags: readonly string[];
  referrers: boolean;
}

export interface Followers {
  signatures: number;
  referrers: number;
}

export async function copyFollowers(deps: FollowerDeps, request: FollowerRequest, signal: AbortSignal): Promise<Followers> {
  let signatures = 0;
  for (const tag of request.digestTags.filter(isSignatureTag)) {
    await deps.copyTag(tag, signal);
    signatures += 1;
  }
  if (!request.referrers) return { signatures, referrers: 0 };
  const fallback = referrersFallbackTag(request.digest);
  const listed = await readReferrers(deps, request, signal);
  if (listed === undefined) {
    // no referrers API at the source: its fallback tag is the list, and copying it publishes the same list
    if (!request.digestTags.includes(fallback)) return { signatures, referrers: 0 };
    const index = await deps.copyTag(fallback, signal);
    return { signatures, referrers: index.kind === 'index' ? index.manifests.length : 0 };
  }
  for (const descriptor of listed) await deps.copyManifest(descriptor, signal);
  if (listed.length > 0 && (await deps.client.getReferrers(request.target, request.digest, signal)) === undefined) {
    await publishFallback(deps, request.target, fallback, listed, signal);
  }
  return { signatures, referrers: listed.length };
}

/**
 * The source's referrers, or undefined without the API. Registries answer the unknown route in odd ways (401, 500):
 * that costs the image its referrers API copy, with a warning, never the image itself.
 */
async function readReferrers(deps: FollowerDeps, request: FollowerRequest, signal: AbortSignal): Promise<Descriptor[] | undefined> {
  try {
    return await deps.client.getReferrers(request.source, request.digest, signal);
  } catch (error) {
    if (signal?.aborted) throw error;
    deps.warn(`${request.source.registry}/${request.source.repository}@${request.digest}: referrers API not read (${describeError(error)}); using the fallback tag`);
    return undefined;
  }
}

/** A target without the referrers API finds referrers through the fallback tag: add ours to the index it holds. */
async function publishFallback(deps: FollowerDeps, target: RepositoryRef, tag: string, referrers: readonly Descriptor[], signal: AbortSignal): Promise<void> {
  const manifests: Descriptor[] = [];
  if ((await deps.client.headManifest(target, tag, signal)) !== undefined) {
    const existing = await deps.client.getManifest(target, tag, signal);
    const content = parseManifest(existing.bytes, existing.mediaType, `${target.registry}/${target.repository}:${tag}`);
    if (content.kind === 'index') manifests.push(...content.manifests);
  }
  const known = new Set(manifests.map((m) => m.digest));
  const added = referrers.filter((r) => !known.has(r.digest));
  if (added.length === 0) return;
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, ...added] };
  await deps.client.putManifest(target, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX, signal);
  deps.logger.debug('referrers fallback tag updated', { repository: target.repository, tag, added: added.length });
}
