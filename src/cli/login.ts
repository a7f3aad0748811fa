import { removeCredentials, storeCredentials } from '../auth/auth-store.js';
import { defaultDockerConfigPath } from '../auth/docker-config.js';
import { createKeychain } from '../auth/keychain.js';
import { resolveAccess, type AccessFlags } from '../config/network.js';
import { describeError, exitCodeFor, GcrsyncError, isGcrsyncError } from '../errors.js';
import { HttpClient } from '../http/client.js';
import { createLogger, redactAll, registerSecret } from '../log.js';
import { parseLocation } from '../ref/reference.js';
import { RegistryClient } from '../registry/client.js';

export interface LoginFlags extends AccessFlags {
  registry: string;
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  verbose?: boolean;
}

/** The registry host a `login REGISTRY` argument names (a URL or host[:port]; no path). */
function registryOf(text: string): string {
  const location = parseLocation(text);
  if (location.path !== '') throw new GcrsyncError('USAGE', `login takes a registry host[:port], not a repository: ${JSON.stringify(text)}`);
  return location.registry;
}

/** The file login writes: --authfile, REGISTRY_AUTH_FILE, else the Docker config, as `docker login` does. */
function authFileOf(flags: AccessFlags): string {
  return flags.authfile ?? (process.env.REGISTRY_AUTH_FILE || defaultDockerConfigPath(process.env));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function passwordOf(flags: LoginFlags): Promise<string> {
  if (flags.passwordStdin && flags.password !== undefined) throw new GcrsyncError('USAGE', 'give --password or --password-stdin, not both');
  const password = flags.passwordStdin ? await readStdin() : (flags.password ?? process.env.GCRSYNC_PASSWORD);
  if (password === undefined || password === '') throw new GcrsyncError('USAGE', 'no password: pipe it to --password-stdin (or set GCRSYNC_PASSWORD)');
  registerSecret(password);
  return password;
}

function networkOf(flags: AccessFlags) {
  const problems: string[] = [];
  const access = resolveAccess([], flags, process.env, (origin, message) => problems.push(`${origin}: ${message}`));
  if (problems.length > 0) throw new GcrsyncError('USAGE', problems.join('; '));
  return access.network;
}

/**
 * `gcrsync login REGISTRY`: checks the credentials against the registry's /v2/ (Basic or token auth, as a sync
 * would use them) and only then stores them, so a wrong password never lands in the file.
 */
export async function runLogin(flags: LoginFlags): Promise<number> {
  const logger = createLogger({ level: flags.verbose ? 'debug' : 'info' });
  let http: HttpClient | undefined;
  try {
    const registry = registryOf(flags.registry);
    const username = flags.username ?? process.env.GCRSYNC_USERNAME;
    if (username === undefined || username === '') throw new GcrsyncError('USAGE', 'login needs --username (or GCRSYNC_USERNAME)');
    const password = await passwordOf(flags);
    http = new HttpClient({ logger, network: networkOf(flags) });
    const keychain = createKeychain({ explicit: { [registry]: { username, password } } });
    // nothing is written before the answer, so Ctrl-C may simply end the process: the signal never fires
    await new RegistryClient({ http, keychain, logger }).ping(registry, new AbortController().signal).catch((error: unknown) => {
      if (!isGcrsyncError(error, 'AUTH')) throw error;
      throw new GcrsyncError('AUTH', `login to ${registry} failed: the registry refused ${username}'s password (${error.message}); nothing was stored`, { ref: registry });
    });
    const file = authFileOf(flags);
    await storeCredentials(file, registry, username, password);
    process.stdout.write(`Login Succeeded: ${registry} (stored in ${file})\n`);
    return 0;
  } catch (error) {
    logger.error(redactAll(describeError(error)));
    return exitCodeFor(error);
  } finally {
    await http?.close();
  }
}

/** `gcrsync logout REGISTRY`: removes the registry's entry from the auth file; not logged in is not an error. */
export async function runLogout(flags: Pick<LoginFlags, 'registry' | 'authfile'>): Promise<number> {
  const logger = createLogger();
  try {
    const registry = registryOf(flags.registry);
    const file = authFileOf(flags);
    const removed = await removeCredentials(file, registry);
    process.stdout.write(removed ? `Removed login credentials for ${registry} from ${file}\n` : `Not logged in to ${registry} (${file})\n`);
    return 0;
  } catch (error) {
    logger.error(redactAll(describeError(error)));
    return exitCodeFor(error);
  }
}
