import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GcrsyncError } from '../errors.js';
import { DOCKER_HUB } from '../ref/reference.js';
import { hostOfConfigKey, HUB_AUTH_KEY, HUB_HOSTS, parseDockerConfig } from './docker-config.js';

/**
 * Writes and removes `auths` entries as `docker login`/`logout` do: the file's other keys are kept as they are,
 * the file is replaced atomically and readable by its owner only.
 */


async function readRaw(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new GcrsyncError('CONFIG', `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { ref: path });
  }
  parseDockerConfig(text, path);
  return JSON.parse(text) as Record<string, unknown>;
}

async function writeRaw(path: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

function keysFor(registry: string, auths: Record<string, unknown>): string[] {
  const hosts = registry === DOCKER_HUB ? HUB_HOSTS : [registry];
  return Object.keys(auths).filter((key) => hosts.includes(hostOfConfigKey(key)));
}

/** Stores `username:password` for `registry` in the auth file at `path` (replacing what was there for it). */
export async function storeCredentials(path: string, registry: string, username: string, password: string): Promise<void> {
  const config = await readRaw(path);
  const auths = { ...((config.auths as Record<string, unknown> | undefined) ?? {}) };
  for (const key of keysFor(registry, auths)) delete auths[key];
  auths[registry === DOCKER_HUB ? HUB_AUTH_KEY : registry] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  await writeRaw(path, { ...config, auths });
}

/** Removes every entry for `registry`; false when there was none. */
export async function removeCredentials(path: string, registry: string): Promise<boolean> {
  const config = await readRaw(path);
  const auths = { ...((config.auths as Record<string, unknown> | undefined) ?? {}) };
  const keys = keysFor(registry, auths);
  if (keys.length === 0) return false;
  for (const key of keys) delete auths[key];
  await writeRaw(path, { ...config, auths });
  return true;
}
