import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type IndexInput, GENERATED_MARKER, renderIndex } from './index-pages.js';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { type Logger, redact, registerSecret, silentLogger } from '../log.js';
import { throwIfAborted } from './abort.js';
import { prependChangelog } from './changelog.js';
import { type Git, createGit, withoutHints } from './git.js';
import { readTextIfExists, writeFileAtomic } from './json-file.js';
import { CHANGELOG_FILE, METADATA_DIR, type MetadataLocation, metadataFilePath, parseMetadataFilePath } from './layout.js';
import { type NamespaceMetadata, parseMetadata, serializeMetadata } from './schema.js';

export interface OpenMetadataRepoOptions {
  /** path or URL of the metadata repo, cloned into `workDir`; undefined = the git repository around `cwd`, used in place */
  location?: string;
  /** where to clone `location`: missing or empty. Default: a new temp dir, which `close()` removes */
  workDir?: string;
  /** where to look for the repository when `location` is undefined, and what a relative `location` is relative to (default: process.cwd()) */
  cwd?: string;
  /**
   * branch to commit to. Default for a clone: the remote's default branch, or `main` while the remote has
   * no branch yet. In place: the checked-out branch (a different one is refused).
   */
  branch?: string;
  /** commit-and-push attempts before giving up on a remote that keeps moving (default 5) */
  maxPushAttempts?: number;
  /** base of the jittered pause before each retry, growing with the attempt (default 250 ms) */
  retryDelayMs?: number;
  logger?: Logger;
  /** cancels opening, and every later operation on the repo */
  signal?: AbortSignal;
}

export interface MetadataChange {
  /** repo-relative path from `metadataFile()` */
  file: string;
  /**
   * Computes the file's new content from its current content (undefined: no file yet). Called again
   * with the remote's fresh content when a push is rejected, so it must derive everything from its argument.
   */
  update(current: NamespaceMetadata | undefined): NamespaceMetadata;
}

export interface CommitRequest {
  changes: readonly MetadataChange[];
  /** markdown section prepended to CHANGELOG.md, only when some metadata file actually changed */
  changelogSection?: string;
  message: string;
  /** default: true when the repo has a remote */
  push?: boolean;
  signal?: AbortSignal;
}

export interface CommitResult {
  /**
   * false when no metadata file changed: nothing was written, committed or pushed. After a rejected
   * push this also means the remote already held the same content.
   */
  committed: boolean;
  /** the commit that holds the changes (after any retries) */
  commit?: string;
  pushed: boolean;
  /** commit(-and-push) attempts made, 1 unless pushes were rejected */
  attempts: number;
}

export interface MetadataFileEntry extends MetadataLocation {
  /** repo-relative path */
  file: string;
}

export interface MetadataRepo {
  /** the work tree */
  readonly path: string;
  readonly branch: string;
  readonly hasRemote: boolean;
  /** repo-relative path of a namespace's file (validated: throws BAD_REFERENCE for a hostile registry or namespace) */
  metadataFile(registry: string, namespace: string): string;
  /** undefined when the file does not exist; METADATA_CORRUPT (file untouched) when it cannot be parsed */
  read(file: string, signal?: AbortSignal): Promise<NamespaceMetadata | undefined>;
  /** committed metadata files, sorted by path */
  listFiles(signal?: AbortSignal): Promise<MetadataFileEntry[]>;
  readAll(signal?: AbortSignal): Promise<Array<MetadataFileEntry & { metadata: NamespaceMetadata }>>;
  commit(request: CommitRequest): Promise<CommitResult>;
  /**
   * Brings the work tree up to the remote branch (for long-running readers such as `monitor`). A clone is
   * reset to the remote (commits that were never pushed are dropped); a checkout used in place is only
   * fast-forwarded. No-op without a remote or while the remote branch does not exist yet.
   */
  refresh(signal?: AbortSignal): Promise<void>;
  /** removes the work tree if `openMetadataRepo` created it; a no-op otherwise */
  close(): Promise<void>;
}

const IDENTITY = { name: 'gcrsync', email: 'gcrsync@localhost' };
const DEFAULT_BRANCH = 'main';
const TRACKING_REMOTE = 'origin';

/** Where fetch and push go. */
interface Remote {
  /** a URL (credentials kept in memory only) or the name of a configured remote */
  target: string;
  /** how messages name it: redacted */
  label: string;
  /** branch name on the remote */
  branch: string;
  /** local ref that mirrors the remote branch */
  trackingRef: string;
}

interface RepoState {
  dir: string;
  branch: string;
  remote: Remote | undefined;
  /** in place: the user's checkout, so never discard work tree edits or local commits */
  inPlace: boolean;
  ownsDir: boolean;
  identity: string[];
  secrets: string[];
  logger: Logger;
  signal: AbortSignal | undefined;
  maxPushAttempts: number;
  retryDelayMs: number;
}

/**
 * Opens the metadata repo: clones `location` (a path or URL, possibly an empty repository), or uses the
 * repository around `cwd` in place.
 */
export async function openMetadataRepo(options: OpenMetadataRepoOptions = {}): Promise<MetadataRepo> {
  throwIfAborted(options.signal, 'opening the metadata repo');
  const state = options.location === undefined ? await openInPlace(options) : await openClone(options.location, options);
  try {
    state.identity = await commitIdentity(gitFor(state));
  } catch (error) {
    if (state.ownsDir) await rm(state.dir, { recursive: true, force: true });
    throw error;
  }
  return new GitMetadataRepo(state);
}

async function openClone(location: string, options: OpenMetadataRepoOptions): Promise<RepoState> {
  const secrets = urlSecrets(location);
  for (const secret of secrets) registerSecret(secret);
  const label = redact(location, secrets);
  const cwd = resolve(options.cwd ?? process.cwd());
  const url = isLocalPath(location) ? resolve(cwd, location) : location;
  const { dir, ownsDir } = await prepareWorkDir(options.workDir === undefined ? undefined : resolve(cwd, options.workDir));
  const logger = options.logger ?? silentLogger;
  try {
    await createGit({ dir: dirname(dir), signal: options.signal, secrets }).run(['clone', '--quiet', '--no-tags', '--', url, dir]);
    const git = createGit({ dir, signal: options.signal, secrets });
    const safeUrl = withoutCredentials(url);
    // the token must not be left in .git/config; fetch and push get the URL from memory
    if (safeUrl !== url) await git.run(['remote', 'set-url', TRACKING_REMOTE, safeUrl]);
    const remoteBranches = await listRemoteBranches(git);
    const branch = await chooseBranch(git, options.branch, remoteBranches, label);
    if (remoteBranches.includes(branch)) {
      await git.run(['checkout', '-B', branch, `refs/remotes/${TRACKING_REMOTE}/${branch}`, '--']);
    } else {
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
      secrets,
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

class GitMetadataRepo implements MetadataRepo {
  readonly path: string;
  readonly branch: string;
  readonly hasRemote: boolean;

  constructor(private readonly state: RepoState) {
    this.path = state.dir;
    this.branch = state.branch;
    this.hasRemote = state.remote !== undefined;
  }

  metadataFile(registry: string, namespace: string): string {
    return metadataFilePath(registry, namespace);
  }

  async read(file: string, signal?: AbortSignal): Promise<NamespaceMetadata | undefined> {
    const text = await readTextIfExists(await this.locate(file), this.signal(signal));
    return text === undefined ? undefined : parseMetadata(text, file);
  }

  async listFiles(signal?: AbortSignal): Promise<MetadataFileEntry[]> {
    const output = await gitFor(this.state, signal).run(['ls-files', '-z', '--', METADATA_DIR]);
    const entries: MetadataFileEntry[] = [];
    for (const file of output.split('\0')) {
      const location = parseMetadataFilePath(file);
      if (location !== undefined) entries.push({ file, ...location });
    }
    return entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  async readAll(signal?: AbortSignal): Promise<Array<MetadataFileEntry & { metadata: NamespaceMetadata }>> {
    const out: Array<MetadataFileEntry & { metadata: NamespaceMetadata }> = [];
    for (const entry of await this.listFiles(signal)) {
      const metadata = await this.read(entry.file, signal);
      if (metadata !== undefined) out.push({ ...entry, metadata });
    }
    return out;
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    const signal = this.signal(request.signal);
    const git = gitFor(this.state, request.signal);
    const { remote, logger } = this.state;
    const push = request.push ?? remote !== undefined;
    if (push && remote === undefined) throw new GcrsyncError('GIT', `${this.path} has no remote to push the metadata to`);
    for (const change of request.changes) await this.locate(change.file);
    const changelog = await this.locateInside(CHANGELOG_FILE, CHANGELOG_FILE);
    // a clone is ours: start from its HEAD even if an earlier commit() failed half way
    if (!this.state.inPlace) await discardLocalEdits(git);
    const baseline = await headCommit(git);
    for (let attempts = 1; ; attempts++) {
      const changed = await this.writeChanges(request.changes, signal);
      if (changed.length === 0) {
        logger.debug('metadata unchanged, nothing to commit', { attempts });
        return { committed: false, pushed: false, attempts };
      }
      // the readable pages go into the same commit, re-rendered from the files as they now are (after a rebase too)
      const paths = [...changed, ...(await this.writeIndexPages(changed, signal))];
      if (request.changelogSection !== undefined) {
        const existing = await readTextIfExists(changelog, signal);
        await writeFileAtomic(changelog, prependChangelog(existing, request.changelogSection), signal);
        paths.push(CHANGELOG_FILE);
      }
      await git.run(['add', '--verbose', '--', ...paths]);
      // naming the paths commits only them, whatever else a user's checkout has staged
      await git.run(['commit', '-m', request.message, '--', ...paths]);
      const commit = (await git.run(['rev-parse', 'HEAD'])).trim();
      if (!push || remote === undefined) return { committed: true, commit, pushed: false, attempts };

      const pushed = await git.attempt(['push', '--quiet', remote.target, `HEAD:refs/heads/${remote.branch}`]);
      if (pushed.ok) {
        logger.debug('metadata pushed', { commit, remote: remote.label, attempts });
        return { committed: true, commit, pushed: true, attempts };
      }
      if (!lostRace(pushed.output)) {
        throw new GcrsyncError('GIT', `pushing the metadata to ${remote.label} failed: ${withoutHints(pushed.output)}`, { ref: remote.label });
      }
      if (attempts >= this.state.maxPushAttempts) {
        throw new GcrsyncError('GIT_PUSH_REJECTED', `${remote.label} kept moving: the metadata push was rejected ${attempts} times`, {
          ref: remote.label,
          temporary: true,
        });
      }
      logger.info('metadata push rejected, re-applying the changes on top of the remote', { attempt: attempts, remote: remote.label });
      await pause(this.state.retryDelayMs * attempts * (0.5 + Math.random()), signal);
      await git.run(['fetch', '--quiet', '--no-tags', remote.target, `+refs/heads/${remote.branch}:${remote.trackingRef}`]);
      if (this.state.inPlace && baseline !== undefined) {
        const contained = await git.attempt(['merge-base', '--is-ancestor', baseline, remote.trackingRef]);
        if (!contained.ok) {
          throw new GcrsyncError('GIT', `branch ${this.branch} of ${this.path} has commits that ${remote.label} lacks; push or drop them first`);
        }
      }
      // our commit is dropped locally and rebuilt from the remote's files; nothing is ever force-pushed
      await git.run(['reset', '--quiet', '--keep', remote.trackingRef]);
    }
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const { remote } = this.state;
    if (remote === undefined) return;
    const git = gitFor(this.state, signal);
    const fetched = await git.attempt(['fetch', '--quiet', '--no-tags', remote.target, `+refs/heads/${remote.branch}:${remote.trackingRef}`]);
    if (!fetched.ok) {
      if (/couldn't find remote ref/i.test(fetched.output)) return;
      throw new GcrsyncError('GIT', `fetching the metadata from ${remote.label} failed: ${withoutHints(fetched.output)}`, { ref: remote.label });
    }
    if (this.state.inPlace) {
      await git.run(['merge', '--quiet', '--ff-only', remote.trackingRef]);
    } else {
      await discardLocalEdits(git);
      await git.run(['reset', '--hard', remote.trackingRef]);
    }
  }

  async close(): Promise<void> {
    if (this.state.ownsDir) await rm(this.state.dir, { recursive: true, force: true });
  }

  /**
   * Applies every update to the file's current content and writes the files whose content changed.
   * All files are parsed and serialized before the first write, so a corrupt file or a failing update
   * leaves every file as it was.
   */
  private async writeChanges(changes: readonly MetadataChange[], signal: AbortSignal | undefined): Promise<string[]> {
    const files = new Map<string, { path: string; before: string | undefined; metadata: NamespaceMetadata | undefined }>();
    for (const change of changes) {
      let file = files.get(change.file);
      if (file === undefined) {
        const path = await this.locate(change.file);
        const text = await readTextIfExists(path, signal);
        const metadata = text === undefined ? undefined : parseMetadata(text, change.file);
        // compared in canonical form: reformatting alone (or migrating an old-format file) is no change
        file = { path, before: metadata === undefined ? undefined : serializeMetadata(metadata), metadata };
        files.set(change.file, file);
      }
      file.metadata = change.update(file.metadata);
    }
    const writes: Array<{ file: string; path: string; text: string }> = [];
    for (const [name, file] of files) {
      if (file.metadata === undefined) continue;
      // a namespace with nothing synced yet gets no file, so a run that copied nothing commits nothing
      if (file.before === undefined && Object.keys(file.metadata.images).length === 0) continue;
      const text = serializeMetadata(file.metadata);
      if (text !== file.before) writes.push({ file: name, path: file.path, text });
    }
    for (const write of writes) await writeFileAtomic(write.path, write.text, signal);
    return writes.map((write) => write.file);
  }

  /**
   * Renders `metadata/README.md` and the namespace pages from every metadata file in the work tree (the
   * committed ones plus `written`) and writes the pages whose text changed; returns their paths. A corrupt
   * file of another namespace is left out of the pages rather than blocking this commit, and a page someone
   * wrote by hand (no generated marker) is never overwritten.
   */
  private async writeIndexPages(written: readonly string[], signal: AbortSignal | undefined): Promise<string[]> {
    const files = new Set([...(await this.listFiles(signal)).map((entry) => entry.file), ...written]);
    const inputs: IndexInput[] = [];
    for (const file of [...files].sort()) {
      try {
        const metadata = await this.read(file, signal);
        if (metadata !== undefined) inputs.push({ file, metadata });
      } catch (error) {
        if (!isGcrsyncError(error, 'METADATA_CORRUPT')) throw error;
        this.state.logger.warn('left out of the index pages: the file cannot be read', { file, error: error.message });
      }
    }
    const changed: string[] = [];
    for (const page of renderIndex(inputs)) {
      const path = await this.locateInside(page.path, page.path);
      const before = await readTextIfExists(path, signal);
      if (before === page.text) continue;
      if (before !== undefined && !before.startsWith(GENERATED_MARKER)) {
        this.state.logger.warn('not overwriting a page gcrsync did not generate', { file: page.path });
        continue;
      }
      await writeFileAtomic(path, page.text, signal);
      changed.push(page.path);
    }
    return changed;
  }

  /** Absolute path of a metadata file; only paths `metadataFile` can produce are accepted. */
  private async locate(file: string): Promise<string> {
    if (parseMetadataFilePath(file) === undefined) {
      throw new GcrsyncError('BAD_REFERENCE', `${JSON.stringify(file)} is not a metadata file path (${METADATA_DIR}/<registry>/<namespace>.json)`, {
        ref: file,
      });
    }
    return this.locateInside(file, file);
  }

  /** Refuses a path that a symbolic link in the repo would lead outside the work tree. */
  private async locateInside(relativePath: string, label: string): Promise<string> {
    const path = join(this.state.dir, ...relativePath.split('/'));
    const root = await realpath(this.state.dir);
    for (let probe = path; ; probe = dirname(probe)) {
      let real: string;
      try {
        real = await realpath(probe);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && probe !== dirname(probe)) continue;
        throw error;
      }
      if (real !== root && !real.startsWith(root + sep)) {
        throw new GcrsyncError('BAD_REFERENCE', `${label} leads outside the metadata repo through a symbolic link`, { ref: label });
      }
      return path;
    }
  }

  private signal(call: AbortSignal | undefined): AbortSignal | undefined {
    return combineSignals(this.state.signal, call);
  }
}

function gitFor(state: RepoState, signal?: AbortSignal): Git {
  return createGit({ dir: state.dir, signal: combineSignals(state.signal, signal), config: state.identity, secrets: state.secrets });
}

function combineSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return AbortSignal.any([a, b]);
}

/** `-c` settings for the commit identity: the repo's own (local config) when it has one, else gcrsync's. Never global. */
async function commitIdentity(git: Git): Promise<string[]> {
  const config: string[] = [];
  for (const [key, fallback] of [
    ['user.name', IDENTITY.name],
    ['user.email', IDENTITY.email],
  ] as const) {
    const local = await git.attempt(['config', '--local', '--get', key]);
    if (!local.ok || local.output.trim() === '') config.push(`${key}=${fallback}`);
  }
  return config;
}

async function headCommit(git: Git): Promise<string | undefined> {
  const head = await git.attempt(['rev-parse', '--quiet', '--verify', 'HEAD^{commit}']);
  return head.ok ? head.output.trim() : undefined;
}

async function discardLocalEdits(git: Git): Promise<void> {
  if ((await headCommit(git)) !== undefined) await git.run(['reset', '--hard', 'HEAD']);
  await git.run(['clean', '-fdq', '--', METADATA_DIR, CHANGELOG_FILE]);
}

async function listRemoteBranches(git: Git): Promise<string[]> {
  const output = await git.run(['for-each-ref', '--format=%(refname:lstrip=3)', `refs/remotes/${TRACKING_REMOTE}/`]);
  return output.split('\n').filter((name) => name !== '' && name !== 'HEAD');
}

async function chooseBranch(git: Git, requested: string | undefined, remoteBranches: string[], label: string): Promise<string> {
  if (requested !== undefined) {
    if (!(await git.attempt(['check-ref-format', '--branch', requested])).ok) {
      throw new GcrsyncError('CONFIG', `${JSON.stringify(requested)} is not a valid branch name`);
    }
    if (remoteBranches.length > 0 && !remoteBranches.includes(requested)) {
      throw new GcrsyncError('CONFIG', `${label} has no branch ${requested} (it has ${remoteBranches.join(', ')})`);
    }
    return requested;
  }
  const head = await git.attempt(['symbolic-ref', '--quiet', `refs/remotes/${TRACKING_REMOTE}/HEAD`]);
  const headBranch = head.ok ? head.output.trim().replace(`refs/remotes/${TRACKING_REMOTE}/`, '') : undefined;
  if (headBranch !== undefined && remoteBranches.includes(headBranch)) return headBranch;
  // a remote whose HEAD names a branch that does not exist (a bare repo made with `git init` whose
  // first push created main) still has a usable main or master
  if (remoteBranches.length === 0 || remoteBranches.includes(DEFAULT_BRANCH)) return DEFAULT_BRANCH;
  if (remoteBranches.includes('master')) return 'master';
  throw new GcrsyncError('CONFIG', `cannot tell which branch of ${label} holds the metadata (it has ${remoteBranches.join(', ')}); name one`);
}

/** The remote of the checked-out branch: its upstream, else `origin`; undefined for a purely local repo. */
async function upstreamOf(git: Git, branch: string): Promise<Remote | undefined> {
  const configured = await git.attempt(['config', '--get', `branch.${branch}.remote`]);
  let name = configured.ok ? configured.output.trim() : '';
  if (name === '' || name === '.') {
    const remotes = (await git.run(['remote'])).split('\n').map((line) => line.trim());
    if (!remotes.includes(TRACKING_REMOTE)) return undefined;
    name = TRACKING_REMOTE;
  }
  const merge = await git.attempt(['config', '--get', `branch.${branch}.merge`]);
  const remoteBranch = merge.ok && merge.output.trim().startsWith('refs/heads/') ? merge.output.trim().slice('refs/heads/'.length) : branch;
  return { target: name, label: name, branch: remoteBranch, trackingRef: `refs/remotes/${name}/${remoteBranch}` };
}

/**
 * True when the push lost a race with another writer: the remote moved since our fetch ("fetch first",
 * "non-fast-forward"), or another push held the ref lock at the same moment.
 */
function lostRace(output: string): boolean {
  return (
    /\[rejected\][^\n]*\((?:fetch first|non-fast-forward)\)/.test(output) ||
    /\[remote rejected\][^\n]*\((?:cannot lock ref|failed to update ref|incorrect old value)/.test(output)
  );
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error) {
    throwIfAborted(signal, 'retrying the metadata push');
    throw error;
  }
}

async function prepareWorkDir(workDir: string | undefined): Promise<{ dir: string; ownsDir: boolean }> {
  if (workDir === undefined) return { dir: await mkdtemp(join(tmpdir(), 'gcrsync-metadata-')), ownsDir: true };
  await mkdir(workDir, { recursive: true });
  if ((await readdir(workDir)).length > 0) {
    throw new GcrsyncError('CONFIG', `${workDir} is not empty; the metadata repo is cloned into a new or empty directory`);
  }
  return { dir: workDir, ownsDir: false };
}

/** git's own rule: `host:path` (a `:` before any `/`) and `scheme://` are remote, anything else is a path. */
function isLocalPath(location: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) && !/^[^/]*:/.test(location);
}

function parseUrl(location: string): URL | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) return undefined;
  try {
    return new URL(location);
  } catch {
    return undefined;
  }
}

/** The password of a `scheme://user:password@host` URL, as written and decoded, for masking. */
function urlSecrets(location: string): string[] {
  const url = parseUrl(location);
  if (url === undefined || url.password === '') return [];
  const decoded = safeDecode(url.password);
  return decoded === url.password ? [url.password] : [url.password, decoded];
}

function withoutCredentials(location: string): string {
  const url = parseUrl(location);
  if (url === undefined || url.password === '') return location;
  url.username = '';
  url.password = '';
  return url.toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
