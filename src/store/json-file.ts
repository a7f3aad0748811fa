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
 * Missing directories are created. `text` may come in pieces (whole characters each, see
 * metadataPieces), each written as it comes.
 */
export async function writeFileAtomic(path: string, text: string | Iterable<string>, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal, `writing ${path}`);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // a leading dot keeps editors and globbing away; pid + random keeps concurrent writers apart
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx');
    try {
      for (const slice of typeof text === 'string' ? slices(text) : text) {
        const bytes = Buffer.from(slice, 'utf8');
        for (let offset = 0; offset < bytes.length; ) offset += (await handle.write(bytes, offset)).bytesWritten;
      }
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

/** Encoded a slice at a time: a 50 000-tag namespace's file is 14 MB, which encoded at once would be 14 MB more. */
const SLICE = 1 << 20;

function* slices(text: string): Generator<string, void, undefined> {
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + SLICE, text.length);
    // never between the two halves of a surrogate pair, which would each encode as U+FFFD
    if (end < text.length && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
    yield text.slice(at, end);
    at = end;
  }
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
