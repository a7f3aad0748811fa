import { realpath, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { retrying } from '../http/retry.js';
import { prependChangelog } from './changelog.js';
import { type Git, withoutHints } from './git.js';
import { type IndexInput, GENERATED_MARKER, renderIndex } from './index-pages.js';
import { readTextIfExists, writeFileAtomic } from './json-file.js';
import { CHANGELOG_FILE, METADATA_DIR, type MetadataLocation, SITE_DIR, metadataFilePath, parseMetadataFilePath } from './layout.js';
import { type OpenMetadataRepoOptions, type RepoState, combineSignals, gitFor, openRepoState } from './repo-open.js';
import { type NamespaceMetadata, checkForWriting, inCanonicalOrder, metadataPieces, parseMetadata, sameMetadata } from './schema.js';
import { writeSiteFiles } from './site-files.js';

export type { OpenMetadataRepoOptions } from './repo-open.js';

export interface MetadataChange {
  /** repo-relative path from `metadataFile()` */
  file: string;
  /**
   * Computes the file's new content from its current content (undefined: no file yet). Called again
   * with the remote's fresh content when a push is rejected, so it must derive everything from its argument;
   * it must not modify it, which is what the new content is compared with.
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
  signal: AbortSignal;
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
  read(file: string, signal: AbortSignal): Promise<NamespaceMetadata | undefined>;
  /** committed metadata files, sorted by path */
  listFiles(signal: AbortSignal): Promise<MetadataFileEntry[]>;
  readAll(signal: AbortSignal): Promise<Array<MetadataFileEntry & { metadata: NamespaceMetadata }>>;
  commit(request: CommitRequest): Promise<CommitResult>;
  /**
   * Brings the work tree up to the remote branch (for long-running readers such as `monitor`). A clone is
   * reset to the remote (commits that were never pushed are dropped); a checkout used in place is only
   * fast-forwarded. No-op without a remote or while the remote branch does not exist yet.
   */
  refresh(signal: AbortSignal): Promise<void>;
  /** removes the work tree if `openMetadataRepo` created it; a no-op otherwise */
  close(): Promise<void>;
}

/**
 * Opens the metadata repo: clones `location` (a path or URL, possibly an empty repository), or uses the
 * repository around `cwd` in place.
 */
export async function openMetadataRepo(options: OpenMetadataRepoOptions): Promise<MetadataRepo> {
  return new GitMetadataRepo(await openRepoState(options));
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

  async read(file: string, signal: AbortSignal): Promise<NamespaceMetadata | undefined> {
    const text = await readTextIfExists(await this.locate(file), this.signal(signal));
    return text === undefined ? undefined : parseMetadata(text, file);
  }

  async listFiles(signal: AbortSignal): Promise<MetadataFileEntry[]> {
    const output = await gitFor(this.state, signal).run(['ls-files', '-z', '--', METADATA_DIR]);
    const entries: MetadataFileEntry[] = [];
    for (const file of output.split('\0')) {
      const location = parseMetadataFilePath(file);
      if (location !== undefined) entries.push({ file, ...location });
    }
    return entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  async readAll(signal: AbortSignal): Promise<Array<MetadataFileEntry & { metadata: NamespaceMetadata }>> {
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
    return retrying(
      async (retry) => {
        const attempts = retry + 1;
        if (retry > 0 && remote !== undefined) {
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
        const written = await this.writeChanges(request.changes, signal);
        if (written.size === 0) {
          logger.debug('metadata unchanged, nothing to commit', { attempts });
          return { committed: false, pushed: false, attempts };
        }
        const paths = [...written.keys()];
        if (request.changelogSection !== undefined) {
          const existing = await readTextIfExists(changelog, signal);
          await writeFileAtomic(changelog, prependChangelog(existing, request.changelogSection), signal);
          paths.push(CHANGELOG_FILE);
        }
        // the readable pages and the catalog go into the same commit, re-rendered from the files as they now are (after a rebase too)
        paths.push(...(await this.writeIndexPages(written, signal)));
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
        throw new GcrsyncError('GIT_PUSH_REJECTED', `${remote.label} kept moving: the metadata push was rejected ${attempts} times`, { ref: remote.label });
      },
      {
        signal,
        retries: this.state.maxPushAttempts - 1,
        delayMs: (retry) => this.state.retryDelayMs * (retry + 1) * (0.5 + Math.random()),
        // only a lost race is worth re-applying the changes for; other git failures say the same thing again
        retryable: (error) => isGcrsyncError(error, 'GIT_PUSH_REJECTED'),
        onRetry: (_error, retry) => logger.info('metadata push rejected, re-applying the changes on top of the remote', { attempt: retry + 1, remote: remote?.label }),
      },
    );
  }

  async refresh(signal: AbortSignal): Promise<void> {
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
   * Applies every update to the file's current content and writes the files whose content changed; returns
   * them with their new content. All files are parsed and checked before the first write, so a corrupt file
   * or a failing update leaves every file as it was.
   */
  private async writeChanges(changes: readonly MetadataChange[], signal: AbortSignal): Promise<Map<string, NamespaceMetadata>> {
    const files = new Map<string, { path: string; before: NamespaceMetadata | undefined; metadata: NamespaceMetadata | undefined }>();
    for (const change of changes) {
      let file = files.get(change.file);
      if (file === undefined) {
        const path = await this.locate(change.file);
        const text = await readTextIfExists(path, signal);
        const metadata = text === undefined ? undefined : parseMetadata(text, change.file);
        file = { path, before: metadata, metadata };
        files.set(change.file, file);
      }
      file.metadata = change.update(file.metadata);
    }
    const writes: Array<{ file: string; path: string; metadata: NamespaceMetadata }> = [];
    for (const [name, file] of files) {
      if (file.metadata === undefined) continue;
      // a namespace with nothing synced yet gets no file, so a run that copied nothing commits nothing
      if (file.before === undefined && Object.keys(file.metadata.images).length === 0) continue;
      const metadata = checkForWriting(file.metadata);
      // compared in canonical form: reformatting alone (or migrating an old-format file) is no change
      if (file.before === undefined || !sameMetadata(file.before, metadata)) writes.push({ file: name, path: file.path, metadata });
    }
    const written = new Map<string, NamespaceMetadata>();
    for (const write of writes) {
      await writeFileAtomic(write.path, metadataPieces(write.metadata), signal);
      written.set(write.file, write.metadata);
    }
    return written;
  }

  /**
   * Renders `metadata/README.md`, the namespace pages and the site (`site/`, with the CHANGELOG as written) from every metadata file in the work tree (the
   * committed ones plus `written`, taken as they are rather than read back: a big namespace's file is tens of
   * MB) and writes the pages whose text changed; returns their paths. A corrupt file of another namespace is left
   * out of the pages rather than blocking this commit, and a page someone wrote by hand (no generated marker) is
   * never overwritten.
   */
  private async writeIndexPages(written: ReadonlyMap<string, NamespaceMetadata>, signal: AbortSignal): Promise<string[]> {
    const files = new Set([...(await this.listFiles(signal)).map((entry) => entry.file), ...written.keys()]);
    const inputs: IndexInput[] = [];
    for (const file of [...files].sort()) {
      try {
        const fresh = written.get(file);
        const metadata = fresh === undefined ? await this.read(file, signal) : inCanonicalOrder(fresh);
        if (metadata !== undefined) inputs.push({ file, metadata });
      } catch (error) {
        if (!isGcrsyncError(error, 'METADATA_CORRUPT')) throw error;
        this.state.logger.warn('left out of the index pages: the file cannot be read', { file, error: error.message });
      }
    }
    const changed: string[] = [];
    if (this.state.site !== undefined) {
      const changelog = await readTextIfExists(await this.locateInside(CHANGELOG_FILE, CHANGELOG_FILE), signal);
      const site = await writeSiteFiles(await this.locateInside(SITE_DIR, SITE_DIR), await this.state.site(inputs, changelog), signal);
      // the directory, not its files: a first sync of a big namespace writes more site files than a command line holds
      if (site.length > 0) changed.push(SITE_DIR);
    }
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

  private signal(call: AbortSignal): AbortSignal {
    return combineSignals(this.state.signal, call);
  }
}

async function headCommit(git: Git): Promise<string | undefined> {
  const head = await git.attempt(['rev-parse', '--quiet', '--verify', 'HEAD^{commit}']);
  return head.ok ? head.output.trim() : undefined;
}

async function discardLocalEdits(git: Git): Promise<void> {
  if ((await headCommit(git)) !== undefined) await git.run(['reset', '--hard', 'HEAD']);
  await git.run(['clean', '-fdq', '--', METADATA_DIR, CHANGELOG_FILE, SITE_DIR]);
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

