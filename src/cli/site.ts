import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { readTextIfExists } from '../store/json-file.js';
import { CHANGELOG_FILE, SITE_DIR } from '../store/layout.js';
import { renderSite } from '../site/render.js';
import { formatBytes } from '../report/progress.js';
import { SITE_MANIFEST, writeSiteFiles } from '../store/site-files.js';
import { type ReaderFlags, type Write, withMirrors } from './browse.js';

export interface SiteFlags extends ReaderFlags {
  out?: string;
}

/**
 * `gcrsync site [--out DIR]`: (re)generates the catalog. Default DIR: `site/` of the metadata repo when it is
 * the current directory's repository (what a sync commits), else `./site` (a clone is temporary).
 */
export async function runSite(flags: SiteFlags, write: Write = (text) => process.stdout.write(text)): Promise<number> {
  const cloned = flags.metadataRepo !== undefined || (process.env.GCRSYNC_METADATA_REPO ?? '').trim() !== '';
  return withMirrors(flags, () => undefined, async (source, logger) => {
    const out = resolve(flags.out ?? (cloned ? SITE_DIR : join(source.path, SITE_DIR)));
    const started = performance.now();
    // rendered once, kept for the summary's byte count
    const files = new Map(renderSite(source.files, await readTextIfExists(join(source.path, CHANGELOG_FILE), UNINTERRUPTED)));
    await makeOutDirectory(out);
    const changed = await writeSiteFiles(out, files, UNINTERRUPTED);
    const bytes = [...files.values()].reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    const summary = { dir: out, start: join(out, 'index.html'), files: files.size, changed: changed.length, bytes };
    logger.debug('site generated', { ms: Math.round(performance.now() - started) });
    if (flags.json) write(JSON.stringify(summary, null, 2) + '\n');
    else {
      // `changed` also counts the file list and deleted pages: the line tells them apart from the pages written
      const written = changed.filter((path) => files.has(path)).length;
      const removed = changed.filter((path) => !files.has(path) && path !== SITE_MANIFEST).length;
      write(`${summary.start}: ${summary.files} files, ${written} written, ${removed} removed, ${formatBytes(bytes)}\n`);
    }
    return 0;
  });
}

/** A file where the directory should be is the user's mistake: say so in terms of --out, not as a raw mkdir error. */
async function makeOutDirectory(out: string): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    const what = code === 'EEXIST' ? 'is a file' : 'lies under a file';
    throw new GcrsyncError('USAGE', `--out ${out} ${what}, not a directory: name a directory (it is created when missing)`, { ref: out, cause: error });
  }
}
