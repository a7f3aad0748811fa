import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { GcrsyncError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { throwIfAborted } from './abort.js';
import { type Git, createGit } from './git.js';
import type { SiteRenderer } from './site-files.js';
import { type Remote, TRACKING_REMOTE, type UrlCredentials, cloneLocation, upstreamOf } from './repo-remote.js';

export interface OpenMetadataRepoOptions {
  /** path or URL of the metadata repo, cloned into `workDir`; undefined = the git repository around `cwd`, used in place */
  location?: string;
  /** where to clone `location`: missing or empty. Default: a new temp dir, which `close()` removes */
  workDir?: string;
  /** where to look for the repository when `location` is undefined, and what a relative `location` is relative to (default: process.cwd()) */
  cwd?: string;
  /**
   * branch to commit to. Default for a clone: the remote's default branch, or the one its HEAD names while the
   * remote has no branch yet. In place: the checked-out branch (a different one is refused).
   */
  branch?: string;
  /** commit-and-push attempts before giving up on a remote that keeps moving (default 5) */
  maxPushAttempts?: number;
  /** base of the jittered pause before each retry, growing with the attempt (default 250 ms) */
  retryDelayMs?: number;
  logger?: Logger;
  /** cancels opening, and every later operation on the repo */
  signal: AbortSignal;
  /** renders `site/` into every commit; without it commits leave `site/` alone */
  site?: SiteRenderer;
}

const IDENTITY = { name: 'gcrsync', email: 'gcrsync@localhost' };
const DEFAULT_BRANCH = 'main';

/** An opened metadata repo: its work tree, branch and remote, and how commits and pushes behave. */
export interface RepoState {
  dir: string;
  branch: string;
  remote: Remote | undefined;
  /** in place: the user's checkout, so never discard work tree edits or local commits */
  inPlace: boolean;
  ownsDir: boolean;
  identity: string[];
  secrets: string[];
  /** taken out of the remote URL; handed to git by a credential helper */
  credentials?: UrlCredentials;
  logger: Logger;
  signal: AbortSignal;
  maxPushAttempts: number;
  retryDelayMs: number;
  site?: SiteRenderer;
}

/** Clones `location`, or finds the repository around `cwd`; then settles the commit identity. */
export async function openRepoState(options: OpenMetadataRepoOptions): Promise<RepoState> {
  throwIfAborted(options.signal, 'opening the metadata repo');
  const state = options.location === undefined ? await openInPlace(options) : await openClone(options.location, options);
  try {
    // a fresh clone has no identity of its own (git clone writes none into it): gcrsync's, without asking git
    state.identity = state.inPlace ? await commitIdentity(gitFor(state, options.signal)) : identityConfig(new Map());
    if (options.site !== undefined) state.site = options.site;
  } catch (error) {
    if (state.ownsDir) await rm(state.dir, { recursive: true, force: true });
    throw error;
  }
  return state;
}

async function openClone(location: string, options: OpenMetadataRepoOptions): Promise<RepoState> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const { url, credentials, label, secrets } = cloneLocation(location, cwd);
  const { dir, ownsDir } = await prepareWorkDir(options.workDir === undefined ? undefined : resolve(cwd, options.workDir));
  const logger = options.logger ?? silentLogger;
  const access = { secrets, ...(credentials !== undefined && { credentials }) };
  try {
    // The URL carries no token: it would be in the process list and in .git/config. Only the branch tips: nothing
    // reads the history, and a commit on top of a shallow clone pushes like any other. Not --quiet: simple-git
    // waits 50 ms more after a command that printed nothing.
    await createGit({ dir: dirname(dir), signal: options.signal, ...access }).run(['clone', '--depth', '1', '--no-single-branch', '--no-tags', '--', url, dir]);
    const git = createGit({ dir, signal: options.signal, ...access });
    const remote = await remoteBranches(git);
    const branch = await chooseBranch(git, options.branch, remote, label);
    // the clone has the remote's HEAD branch checked out at the remote's commit already
    if (remote.branches.includes(branch) && branch !== remote.head) {
      await git.run(['checkout', '-B', branch, `refs/remotes/${TRACKING_REMOTE}/${branch}`, '--']);
    } else if (!remote.branches.includes(branch)) {
      // empty remote: the first push creates the branch
      await git.run(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    }
    logger.debug('cloned metadata repo', { location: label, path: dir, branch });
    return {
      dir,
      branch,
      remote: { target: url, label, branch, trackingRef: `refs/remotes/${TRACKING_REMOTE}/${branch}` },
      inPlace: false,
      ownsDir,
      identity: [],
      ...access,
      logger,
      signal: options.signal,
      maxPushAttempts: options.maxPushAttempts ?? 5,
      retryDelayMs: options.retryDelayMs ?? 250,
    };
  } catch (error) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function openInPlace(options: OpenMetadataRepoOptions): Promise<RepoState> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const top = await createGit({ dir: cwd, signal: options.signal }).attempt(['rev-parse', '--show-toplevel']);
  if (!top.ok) {
    throw new GcrsyncError('GIT', `${cwd} is not inside a git repository; give the metadata repo's path or URL instead`);
  }
  const dir = top.output.trim();
  const git = createGit({ dir, signal: options.signal });
  const head = await git.attempt(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (!head.ok) throw new GcrsyncError('GIT', `${dir} has a detached HEAD; check out the branch to commit the metadata to`);
  const branch = head.output.trim();
  if (options.branch !== undefined && options.branch !== branch) {
    throw new GcrsyncError('CONFIG', `${dir} has branch ${branch} checked out, not ${options.branch}`);
  }
  return {
    dir,
    branch,
    remote: await upstreamOf(git, branch),
    inPlace: true,
    ownsDir: false,
    identity: [],
    secrets: [],
    logger: options.logger ?? silentLogger,
    signal: options.signal,
    maxPushAttempts: options.maxPushAttempts ?? 5,
    retryDelayMs: options.retryDelayMs ?? 250,
  };
}

export function gitFor(state: RepoState, signal: AbortSignal): Git {
  return createGit({
    dir: state.dir,
    signal: combineSignals(state.signal, signal),
    config: state.identity,
    secrets: state.secrets,
    ...(state.credentials !== undefined && { credentials: state.credentials }),
  });
}

export function combineSignals(a: AbortSignal, b: AbortSignal): AbortSignal {
  return a === b ? a : AbortSignal.any([a, b]);
}

/**
 * `-c` settings for the commit identity: the repo's own (local config) when it has one, else gcrsync's. Never
 * global. One `git config --list` (never empty in a repository) instead of a `--get` per key, which prints nothing
 * when the key is unset and so costs simple-git's 50 ms wait each.
 */
export async function commitIdentity(git: Git): Promise<string[]> {
  const local = await git.attempt(['config', '--local', '--list', '-z']);
  const values = new Map(
    (local.ok ? local.output : '').split('\0').map((entry) => {
      const newline = entry.indexOf('\n');
      return newline < 0 ? [entry, ''] : [entry.slice(0, newline), entry.slice(newline + 1)];
    }),
  );
  return identityConfig(values);
}

/** gcrsync's identity for each of user.name and user.email that `local` (the repo's config) does not set. */
function identityConfig(local: ReadonlyMap<string, string>): string[] {
  return (
    [
      ['user.name', IDENTITY.name],
      ['user.email', IDENTITY.email],
    ] as const
  ).flatMap(([key, fallback]) => ((local.get(key) ?? '').trim() === '' ? [`${key}=${fallback}`] : []));
}

interface RemoteBranches {
  branches: string[];
  /** the branch the remote's HEAD names, when it names one of `branches` */
  head?: string;
}

/** The clone's remote-tracking branches and which of them the remote's HEAD names, with one git command. */
async function remoteBranches(git: Git): Promise<RemoteBranches> {
  const prefix = `refs/remotes/${TRACKING_REMOTE}/`;
  const output = await git.run(['for-each-ref', '--format=%(refname:lstrip=3)%00%(symref)', prefix]);
  const refs = output.split('\n').filter((line) => line !== '').map((line) => line.split('\0') as [string, string]);
  const branches = refs.map(([name]) => name).filter((name) => name !== 'HEAD');
  const head = refs.find(([name]) => name === 'HEAD')?.[1].replace(prefix, '');
  return { branches, ...(head !== undefined && branches.includes(head) && { head }) };
}

async function chooseBranch(git: Git, requested: string | undefined, remote: RemoteBranches, label: string): Promise<string> {
  const remoteBranches = remote.branches;
  if (requested !== undefined) {
    if (!(await git.attempt(['check-ref-format', '--branch', requested])).ok) {
      throw new GcrsyncError('CONFIG', `${JSON.stringify(requested)} is not a valid branch name`);
    }
    if (remoteBranches.length > 0 && !remoteBranches.includes(requested)) {
      throw new GcrsyncError('CONFIG', `${label} has no branch ${requested} (it has ${remoteBranches.join(', ')})`);
    }
    return requested;
  }
  if (remoteBranches.length === 0) {
    // an empty remote: the clone's HEAD is the branch the remote's HEAD names (git >= 2.31 learns it from the
    // server), so a plain `git clone` of it later checks out what gcrsync committed (a `git init --bare`
    // without init.defaultBranch names master)
    const unborn = await git.attempt(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    return unborn.ok && unborn.output.trim() !== '' ? unborn.output.trim() : DEFAULT_BRANCH;
  }
  if (remote.head !== undefined) return remote.head;
  // a remote whose HEAD names a branch that does not exist beside its branches still has a usable main or master
  if (remoteBranches.includes(DEFAULT_BRANCH)) return DEFAULT_BRANCH;
  if (remoteBranches.includes('master')) return 'master';
  throw new GcrsyncError('CONFIG', `cannot tell which branch of ${label} holds the metadata (it has ${remoteBranches.join(', ')}); name one`);
}

async function prepareWorkDir(workDir: string | undefined): Promise<{ dir: string; ownsDir: boolean }> {
  if (workDir === undefined) return { dir: await mkdtemp(join(tmpdir(), 'gcrsync-metadata-')), ownsDir: true };
  await mkdir(workDir, { recursive: true });
  if ((await readdir(workDir)).length > 0) {
    throw new GcrsyncError('CONFIG', `${workDir} is not empty; the metadata repo is cloned into a new or empty directory`);
  }
  return { dir: workDir, ownsDir: false };
}
