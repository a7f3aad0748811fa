import { isGcrsyncError } from '../errors.js';
import type { RegistryClient, RepositoryRef } from '../registry/client.js';
import type { Descriptor } from '../registry/schemas.js';

/**
 * What one run learned about the registries it copies between, so that no image asks again: whether a target
 * repository held anything when the run began, which manifests the run put, and which repositories lack the
 * referrers API.
 */
export interface RunState {
  /**
   * Whether a target repository may hold an image this run did not put: one tag listing per repository instead of
   * one manifest HEAD per image, since a first sync copies into repositories that do not exist yet. Any failure to
   * list counts as "may" (the HEADs then decide). Never rejects.
   */
  mayHoldImages(repo: RepositoryRef, signal: AbortSignal): Promise<boolean>;
  /** a manifest PUT to `repo` in this run */
  rememberPut(repo: RepositoryRef, digest: string): void;
  wasPut(repo: RepositoryRef, digest: string): boolean;
  /** RegistryClient.getReferrers, asking a repository without the API only once per run */
  getReferrers(repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<Descriptor[] | undefined>;
}

export function createRunState(client: Pick<RegistryClient, 'listTags' | 'getReferrers'>): RunState {
  // `registry/repository` → whether it had tags when this run first copied into it
  const hadTags = new Map<string, Promise<boolean>>();
  // `registry/repository` → the digests of the manifests this run put there (the digest strings are the ones the
  // records keep: a key of repository and digest per image would be ~130 bytes more for each tag of a big namespace)
  const putThisRun = new Map<string, Set<string>>();
  // OCI 1.1: a registry with the referrers API never answers it 404, so one "no API" answer holds for the run;
  // kept per repository, since fronts (and the tests' fixture) may serve it for some repositories only
  const withoutReferrersApi = new Set<string>();
  // the first referrers request to each repository: the answer says whether the API is there
  const referrersProbes = new Map<string, Promise<void>>();
  const repositoryKey = (repo: RepositoryRef) => `${repo.registry}/${repo.repository}`;

  return {
    mayHoldImages(repo, signal) {
      const key = repositoryKey(repo);
      let known = hadTags.get(key);
      if (!known) {
        known = client.listTags(repo, signal).then(
          (tags) => tags.length > 0,
          (error: unknown) => !isGcrsyncError(error, 'NOT_FOUND'),
        );
        hadTags.set(key, known);
      }
      return known;
    },
    rememberPut(repo, digest) {
      const key = repositoryKey(repo);
      let digests = putThisRun.get(key);
      if (digests === undefined) putThisRun.set(key, (digests = new Set()));
      digests.add(digest);
    },
    wasPut: (repo, digest) => putThisRun.get(repositoryKey(repo))?.has(digest) === true,
    async getReferrers(repo, digest, signal) {
      const key = repositoryKey(repo);
      // images of one repository copied at the same time wait for the first one's answer instead of all asking
      const probe = referrersProbes.get(key);
      if (probe !== undefined) await probe;
      if (withoutReferrersApi.has(key)) return undefined;
      const asked = client.getReferrers(repo, digest, signal);
      if (probe === undefined) referrersProbes.set(key, asked.then(() => undefined, () => undefined));
      const referrers = await asked;
      if (referrers === undefined) withoutReferrersApi.add(key);
      return referrers;
    },
  };
}
