import { metadataFilePath, type MetadataLocation } from './layout.js';
import type { NamespaceMetadata } from './schema.js';

/**
 * The file that holds a source namespace's records for one target. The namespace's own file belongs to the
 * target its header names (an old-format file without a header, or no file yet, is taken by the first target
 * that writes it); any other target keeps its records in `<namespace>@<target>.json`, so two mirrors of one
 * namespace never overwrite each other's records.
 */
export async function metadataFileFor(
  repo: { read(file: string, signal: AbortSignal): Promise<NamespaceMetadata | undefined> },
  source: Pick<MetadataLocation, 'registry' | 'namespace'>,
  target: string,
  signal: AbortSignal,
): Promise<string> {
  const own = metadataFilePath(source.registry, source.namespace, target);
  if ((await repo.read(own, signal)) !== undefined) return own;
  const shared = metadataFilePath(source.registry, source.namespace);
  const metadata = await repo.read(shared, signal);
  return metadata === undefined || metadata.target === '' || metadata.target === target ? shared : own;
}
