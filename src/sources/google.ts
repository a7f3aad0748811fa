import { describeError, isGcrsyncError } from '../errors.js';
import type { Listing } from './source.js';
import type { GoogleTagList, ListingClient } from './listing-client.js';
import { ListingRun, namespaceMissing, sourceUnreachable, subjectOf, type ListOptions } from './listing-run.js';
import { childPath, digestDefect, tagDefect } from './untrusted.js';

/** Artifact Registry answers at most this many items per list, and the extension does not paginate (ggcr PR#1645). */
export const GOOGLE_ANSWER_CAP = 10_000;

const mediaTypePattern = /^[A-Za-z0-9][\w.+-]{0,126}\/[A-Za-z0-9][\w.+-]{0,126}$/;

/**
 * Lists every repository and tag under `namespace` through Google's tags/list extension (gcr.io,
 * Artifact Registry, registry.k8s.io): breadth-first through `child` to any depth. Digests come from the
 * `manifest` map; only tags missing from it cost a manifest HEAD. Results are keyed by the path we asked
 * for, because behind redirects the answer's `name` is the backend's path. `root` is the namespace's own answer
 * when the caller already asked for it (probing what the registry speaks), so it is not asked for twice.
 */
export async function walkGoogle(
  client: ListingClient,
  source: { registry: string; namespace: string },
  options: ListOptions,
  root?: GoogleTagList,
): Promise<Listing> {
  const run = new ListingRun(client, source.registry, options);
  const seen = new Set<string>([source.namespace]);
  const rootDepth = depthOf(source.namespace);

  const visit = (path: string, answer: GoogleTagList | undefined): void => {
    // an interrupted walk stops growing at once instead of queueing the children of every answer in flight
    if (run.signal.aborted) return;
    if (answer === undefined) {
      // this node speaks only the standard API; the registry root has no tags of its own
      if (path !== '') run.listPlainRepository(path);
      return;
    }
    warnIfCapped(run, path, answer);
    collectTags(run, path, answer);
    for (const child of answer.child) {
      const next = childPath(path, child);
      if ('refused' in next) {
        run.refuse(subjectOf(path), 'child', child, next.refused);
        continue;
      }
      if (seen.has(next.path)) continue;
      // a tree with endless levels, endless children, or paths repeated under new prefixes never ends by itself
      if (depthOf(next.path) - rootDepth > run.limits.maxDepth) {
        run.stopAt('maxDepth', subjectOf(path), `${run.limits.maxDepth} levels of child below ${subjectOf(source.namespace)}`);
        continue;
      }
      if (seen.size >= run.limits.maxRepositories) {
        run.stopAt('maxRepositories', subjectOf(path), `${run.limits.maxRepositories} repositories`);
        return;
      }
      seen.add(next.path);
      run.spawn(next.path, async (signal) => visit(next.path, await client.listGoogle(source.registry, next.path, signal)));
    }
  };

  if (root === undefined) {
    try {
      root = await run.query((signal) => client.listGoogle(source.registry, source.namespace, signal));
    } catch (error) {
      if (options.signal.aborted) return run.finish();
      if (isGcrsyncError(error, 'NOT_FOUND')) throw namespaceMissing(source, describeError(error));
      throw sourceUnreachable(source, error);
    }
  }
  if (source.namespace !== '' && root !== undefined && root.child.length === 0 && root.tags.length === 0 && Object.keys(root.manifest).length === 0) {
    throw namespaceMissing(source, 'its listing has no repository and no tag');
  }
  visit(source.namespace, root);
  return run.finish();
}

function depthOf(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

function warnIfCapped(run: ListingRun, path: string, answer: GoogleTagList): void {
  const items = Math.max(answer.child.length, answer.tags.length, Object.keys(answer.manifest).length);
  if (items >= GOOGLE_ANSWER_CAP) {
    run.logger.warn('registry answer reached the Artifact Registry cap; the listing may be incomplete', {
      registry: run.registry,
      repository: subjectOf(path),
      items,
    });
  }
}

/** Emits the path's tags: digest from the `manifest` map when it names the tag once, else a manifest HEAD. */
function collectTags(run: ListingRun, path: string, answer: GoogleTagList): void {
  if (path === '') return;
  const mapped = new Map<string, { digest: string; mediaType?: string }>();
  const ambiguous = new Set<string>();
  const unmapped = new Set<string>();
  const refused = new Set<string>();

  const acceptTag = (tag: unknown): tag is string => {
    const defect = tagDefect(tag);
    if (defect === undefined) return true;
    const key = String(tag);
    if (!refused.has(key)) run.refuse(path, 'tag', tag, defect);
    refused.add(key);
    return false;
  };

  for (const [digest, info] of Object.entries(answer.manifest)) {
    const digestProblem = digestDefect(digest);
    if (digestProblem !== undefined) run.refuse(path, 'digest', digest, digestProblem);
    const mediaType = typeof info.mediaType === 'string' && mediaTypePattern.test(info.mediaType) ? info.mediaType : undefined;
    for (const tag of info.tag) {
      if (!acceptTag(tag)) continue;
      if (digestProblem !== undefined) {
        unmapped.add(tag);
        continue;
      }
      const earlier = mapped.get(tag);
      if (earlier !== undefined && earlier.digest !== digest) ambiguous.add(tag);
      mapped.set(tag, { digest, ...(mediaType !== undefined && { mediaType }) });
    }
  }
  for (const tag of answer.tags) if (acceptTag(tag) && !mapped.has(tag)) unmapped.add(tag);

  for (const tag of ambiguous) {
    run.logger.warn('tag listed under several digests; asking the registry', { registry: run.registry, repository: path, tag });
    mapped.delete(tag);
    unmapped.add(tag);
  }
  for (const [tag, entry] of mapped) if (!unmapped.has(tag)) run.addTag({ repository: path, tag, ...entry });
  for (const tag of unmapped) run.resolveByHead(path, tag);
}
