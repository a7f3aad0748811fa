import { isValidDigest, isValidRepositoryPath, isValidTag } from '../ref/reference.js';

/**
 * Checks on names that come out of registry answers. A listing answer is untrusted input: a `child`
 * or tag that slipped through would become a URL path, a target reference and a metadata file key.
 */

const MAX_PATH_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
const MAX_SHOWN = 64;

function commonDefect(value: unknown, maxLength: number): string | undefined {
  if (typeof value !== 'string') return `is a ${value === null ? 'null' : typeof value}, not a string`;
  if (value.length === 0) return 'is empty';
  if (value.length > maxLength) return `is over-long (${value.length} characters)`;
  if (/[^\x21-\x7e]/.test(value)) return 'holds non-ASCII, control or space characters';
  if (value.includes('/')) return 'contains "/"';
  if (value.includes('..')) return 'contains ".."';
  return undefined;
}

/** The full path of `child` under `parent`, or why the child is refused. */
export function childPath(parent: string, child: unknown): { path: string } | { refused: string } {
  const defect = commonDefect(child, MAX_PATH_LENGTH);
  if (defect !== undefined) return { refused: defect };
  const path = parent === '' ? (child as string) : `${parent}/${child as string}`;
  if (!isValidRepositoryPath(path)) return { refused: `does not make a valid repository path (${quoteUntrusted(path)})` };
  return { path };
}

/** Why a repository path from a catalog answer is refused, or undefined when it may be used. */
export function repositoryDefect(path: unknown): string | undefined {
  if (typeof path !== 'string') return `is a ${path === null ? 'null' : typeof path}, not a string`;
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_LENGTH) return `is over-long (${path.length} characters)`;
  if (/[^\x21-\x7e]/.test(path)) return 'holds non-ASCII, control or space characters';
  if (path.split('/').some((part) => part === '..' || part === '.')) return 'contains a relative segment';
  if (!isValidRepositoryPath(path)) return 'is not a valid repository path';
  return undefined;
}

/** Why a tag is refused, or undefined when it may be used. */
export function tagDefect(tag: unknown): string | undefined {
  const defect = commonDefect(tag, MAX_TAG_LENGTH);
  if (defect !== undefined) return defect;
  if (!isValidTag(tag as string)) return 'does not match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}';
  return undefined;
}

export function digestDefect(digest: unknown): string | undefined {
  if (typeof digest !== 'string') return 'is not a string';
  if (digest.length > 200) return `is over-long (${digest.length} characters)`;
  if (!isValidDigest(digest)) return 'is not algorithm:hex';
  return undefined;
}

/** A short, printable rendering of an untrusted value for messages and logs (no raw control or non-ASCII characters). */
export function quoteUntrusted(value: unknown): string {
  if (typeof value !== 'string') return `<${value === null ? 'null' : typeof value}>`;
  const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
  return JSON.stringify(shown).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
