import type { Reference } from '../ref/reference.js';

export interface CopyRequest {
  /** source image; `tag` set */
  source: Reference;
  /** the digest the listing saw; a transport may re-check it but records what it actually copied */
  sourceDigest: string;
  /** media type of the source manifest when known (an index tells the daemon path it will lose platforms) */
  sourceMediaType?: string;
  /** target image; `tag` set */
  target: Reference;
  /** `os/arch[/variant]` to keep; empty or undefined means every platform */
  platforms?: string[];
  /** source tags `sha256-<hex of sourceDigest>[.suffix]` (signatures, attestations, SBOMs, the referrers fallback) */
  digestTags?: string[];
}

/** Image shapes current registries refuse to store as they are (Docker schema1). */
export type ImageShape = 'schema1';

export interface CopyResult {
  /** source manifest digest actually copied (the tag may have moved since the listing): what gets recorded */
  sourceDigest: string;
  /** manifest digest now at the target under the tag */
  targetDigest: string;
  /**
   * the target registry's answer to the tag's manifest PUT named `targetDigest` (Docker-Content-Digest): its own
   * word that the tag holds these bytes, so verifying the copy needs no HEAD
   */
  confirmed?: boolean;
  /** platforms published at the target, `os/arch[/variant]` */
  platforms: string[];
  /** false when the target digest differs from the source (daemon round trip, platform filter) */
  digestPreserved: boolean;
  /** bytes sent to the target (blobs and manifests actually uploaded) */
  bytesUploaded: number;
  warnings: string[];
  /** set when the image was not copied because no registry stores its shape any more; nothing else is then meaningful */
  notMirrorable?: ImageShape;
  /** set when the image was converted from that shape to be copied (the target digest is the converted image's) */
  converted?: ImageShape;
  /** digest tags (signatures, attestations, SBOMs) copied with the image */
  signatures?: number;
  /** OCI 1.1 referrers copied with the image */
  referrers?: number;
}

/** How an image gets from source to target; one interface for the daemon path and the direct registry path. */
export interface Transport {
  readonly name: 'docker' | 'registry';
  copy(request: CopyRequest, signal: AbortSignal): Promise<CopyResult>;
  close(): Promise<void>;
}
