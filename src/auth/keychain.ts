import { registerSecret } from '../log.js';
import { DOCKER_HUB, normalizeRegistry } from '../ref/reference.js';
import { runCredentialHelper } from './credential-helper.js';
import type { Credentials } from './credentials.js';
import { join } from 'node:path';
import { credentialsFromEntry, defaultDockerConfigPath, HUB_AUTH_KEY, HUB_HOSTS, hostOfConfigKey, readDockerConfig, type DockerConfig } from './docker-config.js';


/** Answers "which credentials go to this registry host?"; undefined means anonymous. */
export interface Keychain {
  resolve(registry: string, signal: AbortSignal): Promise<Credentials | undefined>;
}

export interface KeychainOptions {
  /** credentials per registry host given on the command line or in GCRSYNC_* variables (they win over everything) */
  explicit?: Record<string, Credentials>;
  /** a Docker config.json to read instead of `$DOCKER_CONFIG/config.json` / `~/.docker/config.json` */
  dockerConfigPath?: string;
  /** an auth file read before the others (`--authfile`; REGISTRY_AUTH_FILE is read from `env` when absent) */
  authFile?: string;
  /** environment for DOCKER_CONFIG, HOME and the PATH credential helpers are found on (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** how long a credential helper may take */
  helperTimeoutMs?: number;
}


function secretsOf(credentials: Credentials): string[] {
  if ('password' in credentials) return [credentials.password];
  if ('identityToken' in credentials) return [credentials.identityToken];
  return [credentials.registryToken];
}

/**
 * The files credentials are looked up in, in skopeo's order: `--authfile` / REGISTRY_AUTH_FILE, then podman's
 * `$XDG_RUNTIME_DIR/containers/auth.json`, then the Docker config. They share config.json's format.
 */
export function authFilePaths(options: Pick<KeychainOptions, 'authFile' | 'dockerConfigPath' | 'env'> = {}): string[] {
  const env = options.env ?? process.env;
  const given = options.authFile ?? (env.REGISTRY_AUTH_FILE || undefined);
  return [
    ...(given !== undefined ? [given] : []),
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')] : []),
    options.dockerConfigPath ?? defaultDockerConfigPath(env),
  ];
}

/**
 * Credentials lookup: explicit (flags, config file) → each auth file in turn (authFilePaths), and in each, Docker's
 * order: `credHelpers[host]` → `credsStore` → `auths` (keys compared by host; Hub under
 * https://index.docker.io/v1/) → anonymous. Each file is read once; each registry is resolved once. Every
 * secret it hands out is registered with the logger's redaction.
 */
export function createKeychain(options: KeychainOptions = {}): Keychain {
  const env = options.env ?? process.env;
  const paths = authFilePaths(options);
  const explicit = new Map<string, Credentials>();
  for (const [registry, credentials] of Object.entries(options.explicit ?? {})) {
    for (const secret of secretsOf(credentials)) registerSecret(secret);
    explicit.set(normalizeRegistry(registry.toLowerCase()), credentials);
  }
  const configs = new Map<string, Promise<DockerConfig | undefined>>();
  const resolved = new Map<string, Promise<Credentials | undefined>>();

  const helper = (path: string, suffix: string, serverUrl: string, signal: AbortSignal) =>
    runCredentialHelper(suffix, serverUrl, {
      env,
      configPath: path,
      ...(options.helperTimeoutMs !== undefined && { timeoutMs: options.helperTimeoutMs }),
      signal,
    });

  const lookupIn = async (path: string, registry: string, signal: AbortSignal): Promise<Credentials | undefined> => {
    let config = configs.get(path);
    if (config === undefined) configs.set(path, (config = readDockerConfig(path)));
    const file = await config;
    if (!file) return undefined;
    const isHub = registry === DOCKER_HUB;
    const hosts = isHub ? HUB_HOSTS : [registry];
    const serverUrl = isHub ? HUB_AUTH_KEY : registry;
    const named = hosts.map((host) => file.credHelpers[host]).find((suffix) => suffix !== undefined);
    if (named !== undefined) return helper(path, named, serverUrl, signal);
    if (file.credsStore) {
      const stored = await helper(path, file.credsStore, serverUrl, signal);
      if (stored) return stored;
    }
    const keys = Object.keys(file.auths);
    const key =
      (isHub ? keys.find((k) => k === HUB_AUTH_KEY) : keys.find((k) => k === registry)) ??
      keys.find((k) => hosts.includes(hostOfConfigKey(k)));
    return key === undefined ? undefined : credentialsFromEntry(file.auths[key]!, path, key);
  };

  const lookup = async (registry: string, signal: AbortSignal): Promise<Credentials | undefined> => {
    const given = explicit.get(registry);
    if (given) return given;
    for (const path of paths) {
      const found = await lookupIn(path, registry, signal);
      if (found) return found;
    }
    return undefined;
  };

  return {
    resolve(registry: string, signal: AbortSignal) {
      const key = normalizeRegistry(registry.toLowerCase());
      let answer = resolved.get(key);
      if (!answer) {
        answer = lookup(key, signal);
        resolved.set(key, answer);
        // a failed lookup (aborted, helper timeout) may succeed next time
        answer.catch(() => resolved.delete(key));
      }
      return answer;
    },
  };
}
