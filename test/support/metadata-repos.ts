import { openMetadataRepo, type MetadataRepo, type OpenMetadataRepoOptions } from '../../src/store/metadata-repo.js';
import { guardedRemote, type BareRemote } from './git.js';
import { UNINTERRUPTED } from '../../src/errors.js';

export interface MetadataRepoFixtures {
  /** what each test must undo, run newest first after it; tests add their own (clones, checkouts) */
  cleanups: Array<() => Promise<void>>;
  /** a guarded bare remote (see guardedRemote), removed after the test */
  remoteFor(options?: { empty?: boolean }): Promise<BareRemote>;
  /** the metadata repo on `remote`, retrying fast, closed after the test */
  open(remote: BareRemote, options?: OpenMetadataRepoOptions): Promise<MetadataRepo>;
}

/**
 * Remotes and metadata repos for the tests of the calling describe block, undone by an `afterEach` it registers.
 * `denyDeletes` applies to every remote of the block.
 */
export function metadataRepoFixtures(guard: { denyDeletes?: boolean } = {}): MetadataRepoFixtures {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    async remoteFor(options = {}) {
      const remote = await guardedRemote({ ...options, ...guard });
      cleanups.push(() => remote.cleanup());
      return remote;
    },
    async open(remote, options = { signal: UNINTERRUPTED }) {
      const repo = await openMetadataRepo({ location: remote.url, retryDelayMs: 10, ...options });
      cleanups.push(() => repo.close());
      return repo;
    },
  };
}
