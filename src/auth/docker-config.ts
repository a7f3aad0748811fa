import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GcrsyncError } from '../errors.js';
import { registerSecret } from '../log.js';
import type { Credentials } from './credentials.js';

/** The parts of Docker's config.json that hold credentials (docker/cli configfile/file.go). */
export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface DockerConfig {
  auths: Record<string, DockerAuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
}

/** The key `docker login` writes for Docker Hub (ggcr authn DefaultAuthKey), and the hosts it stands for. */
export const HUB_AUTH_KEY = 'https://index.docker.io/v1/';
export const HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv): string {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(env.HOME || homedir(), '.docker', 'config.json');
}

function corrupt(path: string, why: string): GcrsyncError {
  return new GcrsyncError('CONFIG', `Docker config ${path} ${why}`, { ref: path });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringRecord(value: unknown, path: string, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw corrupt(path, `has a "${field}" that is not an object`);
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw corrupt(path, `has a non-string "${field}" entry for ${JSON.stringify(key)}`);
    out[key] = entry;
  }
  return out;
}

const ENTRY_FIELDS = ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const;

/**
 * Validates config.json text. Errors name the file and the field, never the content: a JSON.parse message
 * quotes the text around the fault, which may be a password.
 */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt(path, 'is not valid JSON');
  }
  if (!isRecord(parsed)) throw corrupt(path, 'is not a JSON object');
  const auths: Record<string, DockerAuthEntry> = {};
  const rawAuths = parsed.auths;
  if (rawAuths !== undefined && rawAuths !== null) {
    if (!isRecord(rawAuths)) throw corrupt(path, 'has an "auths" that is not an object');
    for (const [key, entry] of Object.entries(rawAuths)) {
      if (!isRecord(entry)) throw corrupt(path, `has an auths entry for ${JSON.stringify(key)} that is not an object`);
      const clean: DockerAuthEntry = {};
      for (const field of ENTRY_FIELDS) {
        const value = entry[field];
        if (value === undefined || value === null || value === '') continue;
        if (typeof value !== 'string') throw corrupt(path, `has a non-string "${field}" for ${JSON.stringify(key)}`);
        clean[field] = value;
      }
      auths[key] = clean;
    }
  }
  const credsStore = parsed.credsStore;
  if (credsStore !== undefined && credsStore !== null && typeof credsStore !== 'string') {
    throw corrupt(path, 'has a "credsStore" that is not a string');
  }
  return {
    auths,
    ...(typeof credsStore === 'string' && credsStore !== '' && { credsStore }),
    credHelpers: stringRecord(parsed.credHelpers, path, 'credHelpers'),
  };
}

/** Reads and validates the config; a missing file means "no credentials here", anything else unreadable is CONFIG. */
export async function readDockerConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new GcrsyncError('CONFIG', `cannot read Docker config ${path} (${code ?? 'error'})`, { ref: path });
  }
  return parseDockerConfig(text, path);
}

/** The host[:port] an `auths` key stands for: keys may be URLs (`https://index.docker.io/v1/`) (cli ConvertToHostname). */
export function hostOfConfigKey(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!.toLowerCase();
}

/** Decodes an `auth` value: base64 of `user:password`, split at the first colon, NULs stripped (cli decodeAuth). */
export function decodeAuth(auth: string, path: string, key: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw corrupt(path, `has an "auth" for ${JSON.stringify(key)} that is not base64 of user:password`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0/g, '') };
}

/** Credentials of one `auths` entry, or undefined when it holds none (a credsStore marker `{}`). */
export function credentialsFromEntry(entry: DockerAuthEntry, path: string, key: string): Credentials | undefined {
  registerSecret(entry.auth);
  if (entry.identitytoken) {
    registerSecret(entry.identitytoken);
    const username = entry.username ?? (entry.auth ? decodeAuth(entry.auth, path, key).username : undefined);
    return { identityToken: entry.identitytoken, ...(username !== undefined && { username }) };
  }
  if (entry.registrytoken) {
    registerSecret(entry.registrytoken);
    return { registryToken: entry.registrytoken };
  }
  if (entry.auth) {
    const decoded = decodeAuth(entry.auth, path, key);
    registerSecret(decoded.password);
    return decoded;
  }
  if (entry.username && entry.password) {
    registerSecret(entry.password);
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}
