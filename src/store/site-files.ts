import { mkdir, realpath, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { GcrsyncError } from '../errors.js';
import { throwIfAborted } from './abort.js';
import type { IndexInput } from './index-pages.js';
import { readTextIfExists } from './json-file.js';

/**
 * Renders the catalog (src/site/) of the metadata: path inside `site/` → content. Handed in by the commands that
 * commit (the store renders no HTML itself), and called with every readable metadata file and the CHANGELOG as
 * written for the commit.
 */
export type SiteRenderer = (inputs: readonly IndexInput[], changelog: string | undefined) => ReadonlyMap<string, string> | Promise<ReadonlyMap<string, string>>;

/** The list of files gcrsync wrote last time: only those are ever deleted, so a CNAME or a page added by hand stays. */
export const SITE_MANIFEST = '.gcrsync-files';

/**
 * Writes `files` (path inside the site → content) under `dir`: only files whose bytes differ are written, and
 * files the previous run wrote that are no longer produced (a repository that went away) are deleted. Returns
 * the paths that changed, written or deleted, the manifest included. Every write stays inside `dir`, whatever
 * symbolic links the directory holds. The files can always be generated again, so they are not fsynced.
 */
export async function writeSiteFiles(dir: string, files: ReadonlyMap<string, string>, signal: AbortSignal): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const inside = new Map<string, boolean>();
  const checked = async (path: string): Promise<string> => {
    if (!isSafePath(path)) throw new GcrsyncError('BAD_REFERENCE', `${JSON.stringify(path)} is not a path inside the site`, { ref: path });
    const full = join(dir, ...path.split('/'));
    const parent = dirname(full);
    if (!inside.has(parent)) {
      await mkdir(parent, { recursive: true });
      const real = await realpath(parent);
      inside.set(parent, real === root || real.startsWith(root + sep));
    }
    if (!inside.get(parent)) throw new GcrsyncError('BAD_REFERENCE', `site/${path} leads outside the site through a symbolic link`, { ref: path });
    return full;
  };
  const changed: string[] = [];
  for (const [path, text] of files) {
    throwIfAborted(signal, 'writing the site');
    const full = await checked(path);
    if ((await readTextIfExists(full, signal)) === text) continue;
    await writeFile(full, text, 'utf8');
    changed.push(path);
  }
  const manifest = [...files.keys()].sort().join('\n') + '\n';
  const before = await readTextIfExists(join(dir, SITE_MANIFEST), signal);
  for (const stale of (before ?? '').split('\n')) {
    if (stale === '' || files.has(stale) || !isSafePath(stale)) continue;
    try {
      await unlink(await checked(stale));
      changed.push(stale);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (before !== manifest) {
    await writeFile(join(root, SITE_MANIFEST), manifest, 'utf8');
    changed.push(SITE_MANIFEST);
  }
  return changed.sort();
}

/** The paths the renderers produce: relative, `/`-separated, no empty, `.` or `..` parts, no hidden files. */
function isSafePath(path: string): boolean {
  return path.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.includes('\\'));
}
