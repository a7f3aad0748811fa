import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './temp.js';
import { ensureTools } from './tools.js';

const execFileAsync = promisify(execFile);

export const TEST_IDENTITY = { name: 'gcrsync test', email: 'gcrsync-test@example.invalid' };

/** Runs git with no global or system config, so the developer's settings (signing, hooks, templates) can't interfere. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
  const { stdout } = await execFileAsync('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

export interface BareRemote {
  /** filesystem path of the bare repository */
  path: string;
  /** file:// URL to clone and push */
  url: string;
  /** `git rev-parse <ref>` in the bare repository (default main); undefined when the ref does not exist */
  head(ref?: string): Promise<string | undefined>;
  /** the content of `file` at `ref` (default main) */
  show(file: string, ref?: string): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A bare repository standing in for the metadata remote. By default it has one commit on `main` with a README so
 * clones get a branch; `empty: true` leaves it without commits.
 */
export async function bareRemote(options: { empty?: boolean } = {}): Promise<BareRemote> {
  ensureTools(['git']);
  const dir = await tempDir('git-remote');
  const path = join(dir, 'remote.git');
  await git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', path);
  if (!options.empty) {
    const seed = join(dir, 'seed');
    await git(dir, 'init', '--quiet', '--initial-branch=main', seed);
    await writeFile(join(seed, 'README.md'), '# gcrsync metadata (test)\n');
    await git(seed, 'add', 'README.md');
    await git(seed, '-c', `user.name=${TEST_IDENTITY.name}`, '-c', `user.email=${TEST_IDENTITY.email}`, 'commit', '--quiet', '-m', 'Initial commit');
    await git(seed, 'push', '--quiet', path, 'main');
    await rm(seed, { recursive: true, force: true });
  }
  return {
    path,
    url: pathToFileURL(path).href,
    head: (ref = 'main') => git(path, 'rev-parse', '--verify', '--quiet', ref).catch(() => undefined),
    show: (file, ref = 'main') => git(path, 'show', `${ref}:${file}`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A bare remote that refuses non-fast-forward pushes (and, with `denyDeletes`, branch deletions): a force push
 * or a deleted branch then fails, so a passing test proves none happened.
 */
export async function guardedRemote(options: { empty?: boolean; denyDeletes?: boolean } = {}): Promise<BareRemote> {
  const remote = await bareRemote(options);
  await git(remote.path, 'config', 'receive.denyNonFastForwards', 'true');
  if (options.denyDeletes) await git(remote.path, 'config', 'receive.denyDeletes', 'true');
  return remote;
}

/** Clones `url` into a temp work dir with a repo-local identity (never --global). */
export async function cloneWithIdentity(url: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  ensureTools(['git']);
  const parent = await tempDir('git-clone');
  const dir = join(parent, 'work');
  await git(parent, 'clone', '--quiet', url, dir);
  await git(dir, 'config', 'user.name', TEST_IDENTITY.name);
  await git(dir, 'config', 'user.email', TEST_IDENTITY.email);
  return { dir, cleanup: () => rm(parent, { recursive: true, force: true }) };
}

/**
 * The bytes of `file` at `ref` on the remote, untrimmed: `remote.show` trims its output, and tests of how a
 * file is formatted need it exactly.
 */
export async function showExact(remote: BareRemote, file: string, ref = 'main'): Promise<string> {
  const { stdout } = await execFileAsync('git', ['--git-dir', remote.path, 'show', `${ref}:${file}`]);
  return stdout;
}

/** Commits `files` (path → text) to the remote's main the way a person would, from a separate clone. */
export async function pushByHand(remote: BareRemote, files: Record<string, string>, message = 'by hand'): Promise<void> {
  const clone = await cloneWithIdentity(remote.url);
  try {
    for (const [file, text] of Object.entries(files)) {
      await mkdir(join(clone.dir, file, '..'), { recursive: true });
      await writeFile(join(clone.dir, file), text);
      await git(clone.dir, 'add', file);
    }
    await git(clone.dir, 'commit', '--quiet', '-m', message);
    await git(clone.dir, 'push', '--quiet', 'origin', 'HEAD:main');
  } finally {
    await clone.cleanup();
  }
}
