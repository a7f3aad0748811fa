import type { GcrsyncError } from '../errors.js';

/** One tag found at the source, with the manifest digest it points to right now. */
export interface SourceTag {
  /** full repository path at the source registry, e.g. `google-containers/sub/pause` */
  repository: string;
  tag: string;
  /** source manifest digest (from gcr's `manifest` map, else a manifest HEAD) */
  digest: string;
  /** manifest media type when the listing told it (lets us report schema1 or indexes early) */
  mediaType?: string;
  /** platform images of an index, when the listing told it (Docker Hub counts a pull for each) */
  children?: number;
}

/** A repository or tag that could not be listed or was refused as hostile; the rest of the listing goes on. */
export interface ListingProblem {
  /** what it is about: repository path, or `path:tag` */
  subject: string;
  error: GcrsyncError;
}

export interface Listing {
  tags: SourceTag[];
  problems: ListingProblem[];
}
