import { describeError, exitCodeFor } from '../errors.js';
import { createLogger } from '../log.js';
import { MARKER_FILE, initMetadataRepo } from '../store/marker.js';

/** `gcrsync init [DIR]`: marks DIR's git repository (made when there is none) as a metadata repo; 0, or 2 on errors. */
export async function runInit(dir: string | undefined): Promise<number> {
  try {
    const { top, created } = await initMetadataRepo(dir ?? '.');
    process.stdout.write(created ? `${top}: committed ${MARKER_FILE}; gcrsync now uses this repository when run inside it\n` : `${top} already is a metadata repo\n`);
    return 0;
  } catch (error) {
    createLogger().error(describeError(error));
    return exitCodeFor(error);
  }
}
