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
}

export interface CopyResult {
  /** source manifest digest actually copied (the tag may have moved since the listing): what gets recorded */
  sourceDigest: string;
  /** manifest digest now at the target under the tag */
  targetDigest: string;
  /** platforms published at the target, `os/arch[/variant]` */
  platforms: string[];
  /** false when the target digest differs from the source (daemon round trip, platform filter) */
  digestPreserved: boolean;
  /** bytes sent to the target (blobs and manifests actually uploaded) */
  bytesUploaded: number;
  warnings: string[];
}

/** How an image gets from source to target; one interface for the daemon path and the direct registry path. */
export interface Transport {
  readonly name: 'docker' | 'registry';
  copy(request: CopyRequest, signal: AbortSignal): Promise<CopyResult>;
  close(): Promise<void>;
}
