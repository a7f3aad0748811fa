import { resolve } from 'node:path';
import { redact, registerSecret } from '../log.js';
import type { Git } from './git.js';

/** The name a clone gives its remote, and the remote an in-place checkout without an upstream pushes to. */
export const TRACKING_REMOTE = 'origin';

/** Where fetch and push go. */
export interface Remote {
  /** a URL (credentials kept in memory only) or the name of a configured remote */
  target: string;
  /** how messages name it: redacted */
  label: string;
  /** branch name on the remote */
  branch: string;
  /** local ref that mirrors the remote branch */
  trackingRef: string;
}

/** The remote of the checked-out branch: its upstream, else `origin`; undefined for a purely local repo. */
export async function upstreamOf(git: Git, branch: string): Promise<Remote | undefined> {
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

/** Credentials taken out of a remote URL; git gets them from a credential helper, never on its command line. */
export interface UrlCredentials {
  username: string;
  password: string;
}

/**
 * What cloning `location` needs: the URL to clone, fetch and push (a path resolved against `cwd`; without
 * credentials, so they are in no process's arguments and not in .git/config), the credentials that were in it,
 * the label messages use, and the secrets, registered for redaction.
 */
export function cloneLocation(location: string, cwd: string): { url: string; credentials?: UrlCredentials; label: string; secrets: string[] } {
  const secrets = urlSecrets(location);
  for (const secret of secrets) registerSecret(secret);
  const url = isLocalPath(location) ? resolve(cwd, location) : location;
  const credentials = credentialsOf(url);
  return { url: withoutCredentials(url), ...(credentials !== undefined && { credentials }), label: redact(location, secrets), secrets };
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

/**
 * The secret of a `scheme://user:password@host` URL (the password) or of `https://TOKEN@host` (the user name:
 * GitHub and GitLab take a token there), as written and decoded, for masking.
 */
function urlSecrets(location: string): string[] {
  const url = parseUrl(location);
  const secret = url === undefined ? '' : url.password !== '' ? url.password : url.username;
  if (secret === '') return [];
  const decoded = safeDecode(secret);
  return decoded === secret ? [secret] : [secret, decoded];
}

function credentialsOf(location: string): UrlCredentials | undefined {
  const url = parseUrl(location);
  if (url === undefined || (url.username === '' && url.password === '')) return undefined;
  return { username: safeDecode(url.username), password: safeDecode(url.password) };
}

function withoutCredentials(location: string): string {
  const url = parseUrl(location);
  if (url === undefined || (url.username === '' && url.password === '')) return location;
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
