import type { NamespaceMetadata } from '../store/schema.js';
import { metadataFileFor } from '../store/target-file.js';
import { locationName } from './run.js';
import type { EarlyStart, RunDeps, RunSettings } from './run-types.js';
import { prefetchDrift } from './verify.js';

/**
 * Reads a sync's metadata and sends its drift check's HEADs, before its listing is done (see prefetchDrift): the
 * run then starts from this (`RunDeps.early`) instead of reading again. Only for a run nothing commits to meanwhile.
 */
export async function startEarly(
  deps: Pick<RunDeps, 'metadata' | 'headTarget' | 'digestAtTarget' | 'logger' | 'now'>,
  settings: Pick<RunSettings, 'source' | 'target' | 'signal' | 'queryLimit' | 'verify' | 'verifyStopReason' | 'shard'>,
): Promise<EarlyStart> {
  // finding the file reads it: parsed once, not again for the run (a big namespace's file takes a while)
  const reads = new Map<string, Promise<NamespaceMetadata | undefined>>();
  const read = (file: string, signal: AbortSignal) => {
    let pending = reads.get(file);
    if (pending === undefined) reads.set(file, (pending = deps.metadata.read(file, signal)));
    return pending;
  };
  const metadataFile = await metadataFileFor({ read }, settings.source, locationName(settings.target.registry, settings.target.path), settings.signal);
  const metadata = await read(metadataFile, settings.signal);
  return { metadataFile, ...(metadata !== undefined && { metadata }), drift: prefetchDrift(metadata, deps, settings) };
}
