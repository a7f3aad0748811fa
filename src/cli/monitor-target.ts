import type { ConfigFile } from '../config/file.js';
import { commandLineLocation, type JobFlags } from '../config/settings.js';
import { GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { silentLogger } from '../log.js';
import { metadataFilePath } from '../store/layout.js';
import { openMetadataRepo } from '../store/metadata-repo.js';

/**
 * The target `monitor` watches when the command line names a source but no target: the one the source
 * namespace's metadata file records. monitor only compares the source with the metadata repo, so making the
 * user repeat the target would add nothing; a config file names its targets itself, so it is not looked up then.
 * A namespace mirrored to several targets records the first one in its own file: --target picks another.
 */
export async function recordedTarget(file: ConfigFile | undefined, flags: JobFlags, env: Record<string, string | undefined>): Promise<string | undefined> {
  if (file !== undefined || flags.target !== undefined || env.GCRSYNC_TARGET !== undefined) return undefined;
  const source = commandLineLocation(flags, env);
  if (source === undefined) return undefined;
  const location = typeof flags.metadataRepo === 'string' ? flags.metadataRepo : env.GCRSYNC_METADATA_REPO;
  // read before the command's signal exists: Ctrl-C here simply ends the process
  const repo = await openMetadataRepo({ ...(location !== undefined && { location }), logger: silentLogger, signal: UNINTERRUPTED });
  try {
    const metadataFile = metadataFilePath(source.registry, source.path);
    const target = (await repo.read(metadataFile, UNINTERRUPTED))?.target ?? '';
    if (target !== '') return target;
    const where = source.path === '' ? source.registry : `${source.registry}/${source.path}`;
    throw new GcrsyncError(
      'USAGE',
      `monitor needs --target REGISTRY[/PREFIX]: without it the target is taken from ${metadataFile}, but the metadata repo records no target for ${where} (not synced yet, or an old file without a header)`,
      { ref: metadataFile },
    );
  } finally {
    await repo.close();
  }
}
