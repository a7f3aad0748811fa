import { apiFront, upstreamRepositories, type ApiFront, type FrontAnswer } from './api-front.js';
import { MANIFEST_ACCEPT, MEDIA_TYPES, registryRequest, type RegistryEndpoint } from './images.js';
import { referrersAnswer } from './shapes.js';

/** A raw answer a test puts in place of the computed one. */
export type InjectedAnswer = FrontAnswer;

/** `inject(pathname, answer)` answers `GET pathname` (query ignored) with a raw response instead of the computed one. */
export type GcrFront = ApiFront;

export interface GcrFrontOptions {
  inject?: Record<string, InjectedAnswer>;
  /**
   * Compute each path's listing once and answer repeated requests from memory. The default recomputes every
   * listing from the upstream per request (so tests see pushes at once), which costs dozens of upstream requests
   * per answer: benchmarks that measure gcrsync's listing, not this front's, turn caching on.
   */
  cacheListings?: boolean;
  /** serve the OCI 1.1 referrers API for these repositories, from the upstream's storage (see referrersAnswer) */
  referrers?: { storageDir: string; repositories: string[]; pageSize?: number };
  /** with cacheListings: answers computed by an earlier front over the same content (the bench keeps them on disk) */
  seedListings?: Record<string, unknown>;
}

interface ManifestInfo {
  mediaType: string;
  tag: string[];
  timeUploadedMs: string;
  timeCreatedMs: string;
  imageSizeBytes: string;
}

const TAGS_LIST = /^\/v2\/(?:(.+)\/)?tags\/list$/;

/**
 * An HTTP front for a real registry that speaks gcr.io's listing extension: `GET /v2/<path>/tags/list` (and
 * `/v2/tags/list` for the root) answers `{name, child, manifest, tags}` computed from the upstream's catalog,
 * tags and manifests. Every other request is proxied verbatim.
 */
export async function gcrFront(upstream: RegistryEndpoint, options: GcrFrontOptions = {}): Promise<GcrFront> {
  // GCR reports when a digest was uploaded; keep the first time we saw it so listings are stable
  const uploadedAt = new Map<string, number>();

  const manifestJson = async (repository: string, ref: string): Promise<{ mediaType: string; digest: string; json: Record<string, unknown> }> => {
    const res = await registryRequest(upstream, `repository:${repository}:pull`, `/v2/${repository}/manifests/${ref}`, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (!res.ok) throw new Error(`upstream manifest ${repository}:${ref}: HTTP ${res.status}`);
    const json = (await res.json()) as Record<string, unknown>;
    return { mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(), digest: res.headers.get('docker-content-digest') ?? '', json };
  };

  const createdMs = async (repository: string, config: { digest?: string } | undefined): Promise<string> => {
    if (!config?.digest) return '0';
    const res = await registryRequest(upstream, `repository:${repository}:pull`, `/v2/${repository}/blobs/${config.digest}`);
    if (!res.ok) return '0';
    const created = Date.parse(((await res.json()) as { created?: string }).created ?? '');
    return Number.isFinite(created) ? String(created) : '0';
  };

  const describe = async (repository: string, ref: string, into: Record<string, ManifestInfo>, tag?: string): Promise<void> => {
    const { mediaType, digest, json } = await manifestJson(repository, ref);
    const existing = into[digest];
    if (existing) {
      if (tag) existing.tag.push(tag);
      return;
    }
    if (!uploadedAt.has(digest)) uploadedAt.set(digest, Date.now());
    const layers = (json.layers as Array<{ size?: number }> | undefined) ?? [];
    const config = json.config as { digest?: string; size?: number } | undefined;
    const isIndex = mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;
    into[digest] = {
      mediaType,
      tag: tag ? [tag] : [],
      timeUploadedMs: String(uploadedAt.get(digest)),
      timeCreatedMs: isIndex ? '0' : await createdMs(repository, config),
      imageSizeBytes: isIndex ? '0' : String(layers.reduce((n, l) => n + (l.size ?? 0), config?.size ?? 0)),
    };
    // GCR lists untagged index children in the map too
    if (isIndex) {
      for (const child of (json.manifests as Array<{ digest: string }> | undefined) ?? []) {
        if (!into[child.digest]) await describe(repository, child.digest, into);
      }
    }
  };

  // with cacheListings the catalog is read once too: it is the same for every path of the namespace
  let catalogOnce: Promise<string[]> | undefined;
  const repositoriesNow = (): Promise<string[]> => {
    if (!options.cacheListings) return upstreamRepositories(upstream);
    if (!catalogOnce) {
      catalogOnce = upstreamRepositories(upstream);
      catalogOnce.catch(() => (catalogOnce = undefined));
    }
    return catalogOnce;
  };

  const listing = async (path: string): Promise<{ status: number; body: unknown }> => {
    const repositories = await repositoriesNow();
    const prefix = path === '' ? '' : `${path}/`;
    const child = [...new Set(repositories.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length).split('/')[0]!))].sort();
    const isRepository = path !== '' && repositories.includes(path);
    if (!isRepository && child.length === 0) {
      return { status: 404, body: { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: path } }] } };
    }
    const manifest: Record<string, ManifestInfo> = {};
    let tags: string[] = [];
    if (isRepository) {
      const res = await registryRequest(upstream, `repository:${path}:pull`, `/v2/${path}/tags/list`);
      if (!res.ok) throw new Error(`upstream tags of ${path}: HTTP ${res.status}`);
      tags = (((await res.json()) as { tags?: string[] | null }).tags ?? []).sort();
      for (const tag of tags) await describe(path, tag, manifest, tag);
    }
    return { status: 200, body: { child, manifest, name: path, tags } };
  };

  const cachedListings = new Map<string, Promise<{ status: number; body: unknown }>>(
    Object.entries(options.seedListings ?? {}).map(([path, body]) => [path, Promise.resolve({ status: 200, body })]),
  );
  const cachedListing = (path: string): Promise<{ status: number; body: unknown }> => {
    let answer = cachedListings.get(path);
    if (!answer) {
      answer = listing(path);
      cachedListings.set(path, answer);
      // a failure is not an answer worth keeping: the next request computes it again
      answer.catch(() => cachedListings.delete(path));
    }
    return answer;
  };

  const computed = options.cacheListings ? cachedListing : listing;
  return apiFront('gcr front', upstream, {
    route: (req, url) => {
      const referrers = options.referrers;
      if (referrers !== undefined && req.method === 'GET' && url.pathname.includes('/referrers/')) {
        return referrersAnswer(upstream, referrers.storageDir, referrers.repositories, url, referrers.pageSize);
      }
      const match = req.method === 'GET' ? TAGS_LIST.exec(url.pathname) : null;
      if (!match) return undefined;
      // gcr.io's error shape, not the generic front's, for a listing the front could not compute
      return computed(match[1] ?? '').catch((error: unknown) => ({ status: 500, body: { errors: [{ code: 'UNKNOWN', message: `front: ${String(error)}` }] } }));
    },
  }, options.inject);
}
