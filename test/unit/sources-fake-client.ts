import { GcrsyncError } from '../../src/errors.js';
import type { GoogleTagList, ListingClient, ManifestDescriptor, RepositoryRef } from '../../src/sources/listing-client.js';

/** A distinct, valid sha256 digest per number. */
export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

/** One repository path as the fake registry answers it. */
export interface FakeNode {
  child?: string[];
  tags?: string[];
  /** digest → tags, as in gcr's `manifest` map */
  manifest?: Record<string, string[]>;
  /** the backend's `name`, when it differs from the path asked for (redirects) */
  name?: string;
  /** answer the standard tags/list only, without the extension fields */
  plain?: boolean;
  /** every request about this path fails with this error */
  fail?: Error;
}

export interface FakeOptions {
  /** `path:tag` → digest for manifest HEADs; a missing entry answers "not found" */
  heads?: Record<string, string>;
  /** `_catalog` answer, or the error it fails with */
  catalog?: string[] | Error;
  /** each request takes this long, so concurrency can be observed */
  delayMs?: number;
  /** fail every request as if nothing listened on the port */
  unreachable?: boolean;
}

const notFound = (what: string) => new GcrsyncError('NOT_FOUND', `${what} not found`, { status: 404 });

/**
 * An in-process stand-in for the registry client, for the listers' pure logic only: it answers from a
 * table, records every request and measures how many were in flight at once.
 */
export class FakeListingClient implements ListingClient {
  readonly requests: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly nodes: Record<string, FakeNode>,
    private readonly options: FakeOptions = {},
  ) {}

  count(kind: 'google' | 'tags' | 'head' | 'catalog'): number {
    return this.requests.filter((r) => r.startsWith(`${kind} `) || r === kind).length;
  }

  private async answer<T>(request: string, signal: AbortSignal | undefined, produce: () => T): Promise<T> {
    this.requests.push(request);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.options.delayMs ?? 0));
      if (signal?.aborted) throw new GcrsyncError('ABORTED', 'aborted');
      if (this.options.unreachable) throw new GcrsyncError('REGISTRY', 'connect ECONNREFUSED 127.0.0.1:1', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
      return produce();
    } finally {
      this.inFlight -= 1;
    }
  }

  private node(path: string): FakeNode {
    const node = this.nodes[path];
    if (node === undefined) throw notFound(path);
    if (node.fail) throw node.fail;
    return node;
  }

  listGoogle(_registry: string, path: string, signal?: AbortSignal): Promise<GoogleTagList | undefined> {
    return this.answer(`google ${path}`, signal, () => {
      const node = this.node(path);
      if (node.plain) return undefined;
      const manifest: GoogleTagList['manifest'] = {};
      for (const [d, tag] of Object.entries(node.manifest ?? {})) {
        manifest[d] = { mediaType: 'application/vnd.oci.image.index.v1+json', tag, timeUploadedMs: '1660697581976' };
      }
      return { name: node.name ?? path, child: node.child ?? [], tags: node.tags ?? [], manifest };
    });
  }

  listTags(repo: RepositoryRef, signal?: AbortSignal): Promise<string[]> {
    return this.answer(`tags ${repo.repository}`, signal, () => {
      const node = this.node(repo.repository);
      return [...(node.tags ?? []), ...Object.values(node.manifest ?? {}).flat()];
    });
  }

  catalog(_registry: string, signal?: AbortSignal): Promise<string[]> {
    return this.answer('catalog', signal, () => {
      const catalog = this.options.catalog;
      if (catalog === undefined) throw notFound('_catalog');
      if (catalog instanceof Error) throw catalog;
      return catalog;
    });
  }

  headManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<ManifestDescriptor | undefined> {
    return this.answer(`head ${repo.repository}:${reference}`, signal, () => {
      const found = this.options.heads?.[`${repo.repository}:${reference}`];
      return found === undefined ? undefined : { digest: found, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 525 };
    });
  }
}
