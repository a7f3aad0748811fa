import { access } from 'node:fs/promises';
import { resolve } from 'node:path';

export const CONFIG_FILE_NAME = 'gcrsync.yaml';

/**
 * The config file a command uses: `--config`, else GCRSYNC_CONFIG (both must exist), else `gcrsync.yaml` in
 * the working directory when there is one; undefined means flags and environment only. Apart from file.ts, so a
 * run without a config file never loads the YAML parser.
 */
export async function locateConfigFile(explicit: string | undefined, env: Record<string, string | undefined>, cwd: string): Promise<string | undefined> {
  const named = explicit ?? env.GCRSYNC_CONFIG;
  if (named !== undefined) return resolve(cwd, named);
  const fallback = resolve(cwd, CONFIG_FILE_NAME);
  try {
    await access(fallback);
    return fallback;
  } catch {
    return undefined;
  }
}
