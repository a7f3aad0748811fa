import { GcrsyncError } from '../errors.js';
import type { Listing } from './source.js';
import type { ListingClient } from './listing-client.js';
import { ListingRun, type ListOptions } from './listing-run.js';
import { repositoryPath, type ImagesSpec, type NamedTag } from './source-spec.js';
import { digestDefect } from './untrusted.js';

/**
 * Lists what an image list names in one namespace: a bare repository lists every tag; a named tag costs
 * one manifest HEAD and lists exactly that tag. A named tag that is missing, or that has moved away from
 * the digest it is pinned to, is a problem for that line and the rest goes on.
 */
export async function listImages(client: ListingClient, spec: ImagesSpec, options: ListOptions): Promise<Listing> {
  const run = new ListingRun(client, spec.registry, options);
  for (const image of spec.images) {
    const repository = repositoryPath(spec.namespace, image.repository);
    if (image.tags === undefined) run.listPlainRepository(repository);
    else for (const named of image.tags) listNamedTag(run, repository, named, spec.namedBy === 'copy');
  }
  return run.finish();
}

function listNamedTag(run: ListingRun, repository: string, named: NamedTag, copy: boolean): void {
  const subject = `${repository}:${named.tag}`;
  const ref = `${run.registry}/${subject}`;
  run.spawn(subject, async (signal) => {
    const descriptor = await run.client.headManifest({ registry: run.registry, repository }, named.tag, signal);
    if (descriptor === undefined) {
      const message = copy ? `${ref} does not exist at the source registry` : `${ref} is named in the image list but the registry does not have it`;
      throw new GcrsyncError('NOT_FOUND', message, { ref });
    }
    const defect = digestDefect(descriptor.digest);
    if (defect !== undefined) {
      run.refuse(subject, 'digest', descriptor.digest, defect);
      return;
    }
    if (named.digest !== undefined && descriptor.digest !== named.digest) {
      // copies follow the tag, so copying now would publish content the list did not pin
      throw new GcrsyncError('DIGEST_MISMATCH', `${ref} now points at ${descriptor.digest}, ${copy ? 'SRC' : 'the image list'} pins ${named.digest}; not copied`, { ref });
    }
    run.addTag({ repository, tag: named.tag, digest: descriptor.digest, mediaType: descriptor.mediaType });
  });
}
