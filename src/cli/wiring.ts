import { readDockerConfig } from '../auth/docker-config.js';
import { authFilePaths, createKeychain } from '../auth/keychain.js';
import type { JobsOptions } from '../config/job-options.js';
import { UNINTERRUPTED } from '../errors.js';
import { HttpClient } from '../http/client.js';
import type { Logger } from '../log.js';
import { repositoryExistsVia } from '../jobs/hooks.js';
import type { JobsDeps } from '../jobs/jobs.js';
import type { RunObserver } from '../reconcile/run-types.js';
import { RegistryClient } from '../registry/client.js';
import { listSource, loadImageList, rateLimitStop } from '../sources/index.js';
import type { MetadataRepo } from '../store/metadata-repo.js';
import type { SiteRenderer } from '../store/site-files.js';
import type { RegistryTransport } from '../transports/registry.js';
import { jobConcurrency } from './concurrency.js';

/**
 * The one place real clients are made: a command's jobs get one HTTP client, one registry client, metadata repos
 * opened on demand, and copiers loaded only when a run has something to copy.
 */

/** Builds what a run of jobs talks to: one HTTP client and registry client, metadata repos opened on demand (the only place real clients are created). */
export async function createJobsDeps(
  options: JobsOptions,
  logger: Logger,
  observer?: RunObserver,
): Promise<{ deps: JobsDeps; http: HttpClient; close(): Promise<void> }> {
  // the checks in resolveJobs guarantee one target registry whenever credentials are given
  const credentialsFor = options.targetCredentials === undefined ? undefined : options.jobs[0]?.target.registry;
  // a broken auth file is a configuration error before anything runs, not a failure of every image later
  for (const path of authFilePaths({ ...(options.authFile !== undefined && { authFile: options.authFile }) })) await readDockerConfig(path);
  const keychain = createKeychain({
    explicit: { ...options.credentials, ...(credentialsFor !== undefined && options.targetCredentials !== undefined && { [credentialsFor]: options.targetCredentials }) },
    ...(options.authFile !== undefined && { authFile: options.authFile }),
  });
  // one client serves every job: the strictest cap any of them asks for holds
  const caps = options.jobs.flatMap((job) => (job.connections === undefined ? [] : [job.connections]));
  const connectionsPerOrigin = caps.length > 0 ? Math.min(...caps) : undefined;
  const http = new HttpClient({ logger, insecureRegistries: options.insecureRegistries, network: options.network, ...(connectionsPerOrigin !== undefined && { connectionsPerOrigin }) });
  const concurrency = jobConcurrency(http, logger, connectionsPerOrigin);
  const limits = options.listingLimits;
  const registry = new RegistryClient({ http, keychain, logger, ...(limits?.maxTags !== undefined && { listingCaps: { maxEntries: limits.maxTags } }) });
  const repos = new Map<string, Promise<MetadataRepo>>();
  // reads manifests for compare's platform test; made on first use
  let reader: Promise<RegistryTransport> | undefined;
  const deps: JobsDeps = {
    logger,
    metadataFor: (location) => {
      const key = location ?? '';
      let repo = repos.get(key);
      if (repo === undefined) {
        // every commit carries the catalog, re-rendered from the metadata it commits; not given the interrupt
        // signal: after a Ctrl-C the verified images must still be committed and pushed
        // the store (and git's client) loads here, while the first listing request is already on its way
        repo = import('../store/metadata-repo.js').then(({ openMetadataRepo }) =>
          openMetadataRepo({ ...(location !== undefined && { location }), logger, signal: UNINTERRUPTED, site: renderSiteLazily }),
        );
        // the repository around the working directory is written to only when it is a metadata repo
        if (location === undefined) repo = repo.then(inPlaceMetadataRepo);
        repos.set(key, repo);
      }
      return repo;
    },
    listSource: (spec, job, signal) =>
      listSource(registry, http, spec, {
        queryLimit: job.queryLimit,
        logger,
        ...(limits?.maxRepositories !== undefined && { limits: { maxRepositories: limits.maxRepositories } }),
        signal,
      }),
    loadImageList: (file, signal) => loadImageList(file, signal),
    headTarget: (repo, reference, signal) => registry.headManifest(repo, reference, signal),
    digestAtTarget: (repo, reference, expected, signal) => registry.headManifestDigest(repo, reference, expected, signal),
    platformsAt: async (ref, signal) => (await (reader ??= import('../transports/registry.js').then((m) => m.createRegistryTransport({ client: registry, logger })))).platformsOf(ref, signal),
    repositoryExists: repositoryExistsVia((repo, signal) => registry.listTags(repo, signal)),
    // the copiers load only when a run has something to copy (dockerode, and the gRPC stack it brings, only when it
    // copies through the daemon): a no-op run never needs them
    createTransport: async (job) =>
      job.transport === 'docker'
        ? import('../transports/docker.js').then(async ({ connectDocker, createDockerTransport }) => createDockerTransport({ docker: await connectDocker(), keychain, logger }))
        : (await import('../transports/registry.js')).createRegistryTransport({
            client: registry,
            logger,
            schema1: job.schema1,
            referrers: job.referrers,
            allowNondistributable: job.allowNondistributable,
            blobConcurrency: concurrency.blobs(job),
          }),
    imageConcurrency: concurrency.images,
    // Docker Hub (and any registry sending its ratelimit-* headers) counts pulls: stop starting images while the
    // images in flight and the next one, one pull per manifest GET, still fit in what is left
    stopReasonFor: (spec, job) => rateLimitStop(registry, spec.registry, () => concurrency.imagesNow(job)),
    // the drift check's HEADs at a target that counts pulls go against the budget the copies after them need
    targetStopReasonFor: (job) => rateLimitStop(registry, job.target.registry, () => concurrency.imagesNow(job) + job.queryLimit),
    ...(observer !== undefined && { observer }),
  };
  return {
    deps,
    http,
    close: async () => {
      await (await reader)?.close();
      await http.close();
      for (const repo of repos.values()) await repo.then((r) => r.close(), () => undefined);
    },
  };
}

/** The catalog pages of a commit; the renderer loads with the first commit, which a no-op run never makes. */
async function renderSiteLazily(...args: Parameters<SiteRenderer>): Promise<ReadonlyMap<string, string>> {
  return (await import('../site/render.js')).renderSite(...args);
}

async function inPlaceMetadataRepo(repo: MetadataRepo): Promise<MetadataRepo> {
  try {
    await (await import('../store/marker.js')).requireMetadataRepoDir(repo.path);
    return repo;
  } catch (error) {
    await repo.close();
    throw error;
  }
}
