import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { throwIfAborted } from './abort.js';

/** The file's text, or undefined when it does not exist. */
export async function readTextIfExists(path: string, signal: AbortSignal): Promise<string | undefined> {
  throwIfAborted(signal, `reading ${path}`);
  try {
    return await readFile(path, { encoding: 'utf8', signal });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throwIfAborted(signal, `reading ${path}`);
    throw error;
  }
}

/**
 * Replaces a file so that readers (and a crash) see either the old or the new content, never half of it:
 * write a temp file in the same directory (rename is atomic only within one file system), fsync, rename.
 * Missing directories are created.
 */
export async function writeFileAtomic(path: string, text: string, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal, `writing ${path}`);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // a leading dot keeps editors and globbing away; pid + random keeps concurrent writers apart
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(signal, `writing ${path}`);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable; some file systems cannot fsync a directory, which only weakens durability. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort, see above
  }
}
