import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { createGit } from './git.js';
import { writeFileAtomic } from './json-file.js';
import { METADATA_DIR } from './layout.js';
import { commitIdentity } from './repo-open.js';

/**
 * What makes a git repository a metadata repo that gcrsync may write into without being told (no --metadata-repo):
 * a `metadata/` directory, or this marker file, which `gcrsync init` writes. Any other repository around the working
 * directory (a feature branch of an unrelated project) is refused.
 */
export const MARKER_FILE = '.gcrsync-metadata';

const MARKER_TEXT =
  'This git repository holds gcrsync metadata: metadata/<registry>/<namespace>.json, their index pages and\n' +
  'CHANGELOG.md. Written by `gcrsync init`; gcrsync commits here when it runs inside this repository without\n' +
  '--metadata-repo.\n';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function isMetadataRepoDir(dir: string): Promise<boolean> {
  return (await exists(join(dir, METADATA_DIR))) || (await exists(join(dir, MARKER_FILE)));
}

/** Refuses to use the repository at `dir` in place unless it is a metadata repo. */
export async function requireMetadataRepoDir(dir: string): Promise<void> {
  if (await isMetadataRepoDir(dir)) return;
  throw new GcrsyncError(
    'USAGE',
    `${dir} is not a metadata repo (no ${METADATA_DIR}/ and no ${MARKER_FILE}): name the metadata repo with --metadata-repo PATH|URL ` +
      `(or GCRSYNC_METADATA_REPO, or metadataRepo: in gcrsync.yaml), or run \`gcrsync init\` in the repository meant for it`,
    { ref: dir },
  );
}

/**
 * `gcrsync init [DIR]`: makes DIR (created if needed; `git init` when it is not in a repository) a metadata repo by
 * committing the marker file. Returns the repository's top directory and whether anything was committed.
 */
export async function initMetadataRepo(dir: string): Promise<{ top: string; created: boolean }> {
  const path = resolve(dir);
  await mkdir(path, { recursive: true });
  let git = createGit({ dir: path, signal: UNINTERRUPTED });
  const top = await git.attempt(['rev-parse', '--show-toplevel']);
  if (!top.ok) await git.run(['init', '--quiet', '--initial-branch=main']);
  const root = top.ok ? top.output.trim() : path;
  git = createGit({ dir: root, signal: UNINTERRUPTED });
  if (await exists(join(root, MARKER_FILE))) return { top: root, created: false };
  await writeFileAtomic(join(root, MARKER_FILE), MARKER_TEXT, UNINTERRUPTED);
  git = createGit({ dir: root, signal: UNINTERRUPTED, config: await commitIdentity(git) });
  await git.run(['add', '--', MARKER_FILE]);
  await git.run(['commit', '--quiet', '-m', 'gcrsync init: this repository holds gcrsync metadata', '--', MARKER_FILE]);
  return { top: root, created: true };
}
