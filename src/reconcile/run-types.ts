import type { Concurrency } from '../http/adaptive-concurrency.js';
import type { Logger } from '../log.js';
import type { Reference } from '../ref/reference.js';
import type { SourceLocation, TargetLocation } from '../ref/naming.js';
import type { ManifestDescriptor, RepositoryRef } from '../registry/client.js';
import type { Listing, SourceTag } from '../sources/source.js';
import type { MetadataRepo } from '../store/metadata-repo.js';
import type { Transport } from '../transports/transport.js';
import type { ItemOutcome, PushHooks } from './execute.js';
import type { DriftPrefetch, VerifyPolicy } from './verify.js';
import type { NamespaceMetadata } from '../store/schema.js';
import type { MirrorNamer, PlanItem, Shard } from './plan.js';

/** What a run talks to; built once in cmd/ and passed down, so tests can point it at local registries. */
export interface RunDeps {
  logger: Logger;
  metadata: MetadataRepo;
  listSource(source: SourceLocation, signal: AbortSignal): Promise<Listing>;
  headTarget(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<ManifestDescriptor | undefined>;
  /** the drift check's HEAD, with the digest expected at the target (see RegistryClient.headManifestDigest) */
  digestAtTarget?(repo: RepositoryRef, reference: string, expected: string, signal: AbortSignal): Promise<{ digest: string } | undefined>;
  /** the platforms of the image at a reference ([] when it is not there): compare's test for docker-transport mirrors */
  platformsAt?(ref: Reference, signal: AbortSignal): Promise<string[]>;
  /** created only when something will be copied, so a no-op run never needs a Docker daemon */
  createTransport(): Transport | Promise<Transport>;
  now?: () => Date;
  /** the run's metadata, read (and its drift check started) while the source was still being listed */
  early?: Promise<EarlyStart>;
}

/** What a run can start before its listing is done: read its metadata and send its drift check's HEADs. */
export interface EarlyStart {
  metadataFile: string;
  metadata?: NamespaceMetadata;
  drift: DriftPrefetch;
}

export interface RunSettings {
  source: SourceLocation;
  target: TargetLocation;
  /** images at a time: fixed, or adapting to the registries */
  concurrency: Concurrency;
  queryLimit: number;
  dryRun: boolean;
  signal: AbortSignal;
  /** mirror naming; default: `<target>/<path under the namespace>`, flattened for Docker Hub */
  name?: MirrorNamer;
  /** the platform filter copies use (`--platform`), empty or absent for all: part of the desired state */
  platforms?: readonly string[];
  /** how the job copies: compare adopts a docker-transport mirror (rewritten manifest) by its platforms */
  transport?: 'registry' | 'docker';
  /** which recorded mirrors a sync HEADs at the target to find drift (default: a rolling seventh) */
  verify?: VerifyPolicy;
  /** a reason to HEAD no more mirrors (the Docker Hub budget when the target is Hub) */
  verifyStopReason?: () => string | undefined;
  /** narrows the listing before the diff (tag filters) */
  selectTags?: (tags: readonly SourceTag[]) => SourceTag[];
  /** only this slice of the namespace's repositories */
  shard?: Shard;
  /** no image starts after this many ms from the start of the run; what is in flight finishes and is committed */
  maxDurationMs?: number;
  /** commit what is verified so far every N images and/or every N ms, so a run that is cut off keeps its progress */
  checkpoint?: { images?: number; intervalMs?: number };
  hooks?: PushHooks;
  /** a reason to start no more images (e.g. the source's pull budget is spent), asked with the image about to start */
  stopReason?: (item: PlanItem) => string | undefined;
  /** told how many images are about to be copied and how each ended (progress display) */
  observer?: RunObserver;
  /** Docker schema1 images: recorded as not mirrorable (default) or converted by the transport */
  schema1?: 'skip' | 'convert';
}

export interface RunObserver {
  planned(images: number): void;
  outcome(outcome: ItemOutcome): void;
}

export interface RunReport {
  command: 'sync' | 'compare';
  source: string;
  target: string;
  metadataFile: string;
  dryRun: boolean;
  sourceTags: number;
  upToDate: number;
  /** with `--shard K/N`: source tags left to the other shards */
  otherShards?: number;
  planned: Array<{ source: string; target: string; digest: string; reason: string }>;
  outcomes: Array<{
    source: string;
    target: string;
    status: ItemOutcome['status'];
    digest: string;
    targetDigest?: string;
    platforms?: string[];
    bytes?: number;
    /** why the image was recorded without a copy (`not-mirrorable`) */
    notMirrorable?: string;
    converted?: string;
    signatures?: number;
    referrers?: number;
    seconds: number;
    error?: string;
  }>;
  problems: Array<{ subject: string; error: string }>;
  /**
   * the last metadata commit of the run, and how many commits (checkpoints included) it made; `error` when
   * recording failed after images were copied (a declined push, an unreadable metadata file): exit 1
   */
  commit?: { committed: boolean; commit?: string; pushed: boolean; commits: number; error?: string };
  /** why images were left for the next run (deadline, rate limit, interrupt) */
  stoppedBecause?: string;
  /** recorded mirrors HEADed at the target, and how many of them drifted (planned again as repairs) */
  verified?: { checked: number; drifted: number };
}
