import { isGcrsyncError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { type MetadataRepo, openMetadataRepo } from '../store/metadata-repo.js';
import type { IndexInput } from '../store/index-pages.js';
import { MirrorIndex } from './lookup.js';

export interface MirrorSourceOptions {
  /** path or URL of the metadata repo; undefined = the git repository of `cwd`, read in place */
  location?: string;
  cwd?: string;
  logger?: Logger;
  signal: AbortSignal;
}

/** A metadata repo opened for reading, with the lookup index built from it. */
export interface MirrorSource {
  index: MirrorIndex;
  /** the metadata files `index` was built from */
  files: IndexInput[];
  /** the metadata repo's work tree */
  path: string;
  /** fetches the remote again and rebuilds `index` (long-running readers: the webhook) */
  reload(signal: AbortSignal): Promise<MirrorIndex>;
  close(): Promise<void>;
}

export async function openMirrorSource(options: MirrorSourceOptions): Promise<MirrorSource> {
  const logger = options.logger ?? silentLogger;
  const repo = await openMetadataRepo({
    ...(options.location !== undefined && { location: options.location }),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    logger,
    signal: options.signal,
  });
  try {
    const files = await readMetadataFiles(repo, logger, options.signal);
    const source: MirrorSource = {
      index: new MirrorIndex(files),
      files,
      path: repo.path,
      reload: async (signal) => {
        await repo.refresh(signal);
        source.files = await readMetadataFiles(repo, logger, signal);
        source.index = new MirrorIndex(source.files);
        return source.index;
      },
      close: () => repo.close(),
    };
    return source;
  } catch (error) {
    await repo.close();
    throw error;
  }
}

/**
 * Every readable metadata file. A lookup must not fail because some other namespace's file is corrupt, so such
 * a file is reported and left out.
 */
export async function readMetadataFiles(repo: MetadataRepo, logger: Logger, signal: AbortSignal): Promise<IndexInput[]> {
  const out: IndexInput[] = [];
  for (const entry of await repo.listFiles(signal)) {
    try {
      const metadata = await repo.read(entry.file, signal);
      if (metadata !== undefined) out.push({ file: entry.file, metadata });
    } catch (error) {
      if (!isGcrsyncError(error, 'METADATA_CORRUPT')) throw error;
      logger.warn('skipping a metadata file that cannot be read', { file: entry.file, error: error.message });
    }
  }
  return out;
}
