import { readFileSync, statSync } from 'node:fs';
import type { Credentials } from '../auth/credentials.js';
import { GcrsyncError } from '../errors.js';
import type { NetworkOptions, TlsMode } from '../http/dispatcher.js';
import { registerSecret } from '../log.js';
import type { CredentialSource } from './schema.js';

/**
 * The settings of a whole command about reaching registries: one proxy, TLS trust and modes, and credentials
 * per registry. The HTTP client and keychain are shared by every job of a run, so the jobs' values are merged
 * here and a registry set two ways is a problem.
 */

export interface AccessFlags {
  caFile?: string;
  certDir?: string;
  insecureRegistry?: string[] | string;
  tlsSkipVerify?: string[] | string;
  srcCreds?: string;
  destCreds?: string;
  authfile?: string;
}

/** What the jobs contribute (already resolved by precedence, one per job). */
export interface JobAccess {
  name: string;
  proxy?: string;
  tls: Record<string, TlsMode>;
  credentials: Record<string, CredentialSource>;
  /** every source registry of the job, or undefined when an image list names them only at run time */
  sourceRegistries: string[] | undefined;
}

export interface CommandAccess {
  network: NetworkOptions;
  /** credentials per registry host given on the command line or in the config file (they win over auth files) */
  credentials: Record<string, Credentials>;
  /** `--authfile` or REGISTRY_AUTH_FILE */
  authFile?: string;
  /** the target's credentials from --dest-creds or --username/--password */
  targetCredentials?: { username: string; password: string };
}

type Report = (origin: string, message: string) => void;

function hosts(value: string[] | string | undefined): string[] {
  return ([] as string[])
    .concat(value ?? [])
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** `USER:PASS` split at the first colon (a password may hold colons); never quoted back in a message. */
export function splitUserPass(text: string, flag: string): { username: string; password: string } {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) throw new GcrsyncError('USAGE', `${flag} takes USER:PASSWORD`);
  const password = text.slice(colon + 1);
  registerSecret(password);
  return { username: text.slice(0, colon), password };
}

/** The same key set two ways by two jobs is refused: one client serves every job. */
function mergeByHost<T>(jobs: readonly JobAccess[], pick: (job: JobAccess) => Record<string, T>, what: string, report: Report): Record<string, T> {
  const out: Record<string, T> = {};
  const from: Record<string, string> = {};
  for (const job of jobs) {
    for (const [host, value] of Object.entries(pick(job))) {
      if (host in out && JSON.stringify(out[host]) !== JSON.stringify(value)) {
        report(what, `jobs ${from[host]} and ${job.name} set ${host} differently; a run has one ${what} per registry (set it under defaults)`);
      }
      out[host] = value;
      from[host] ??= job.name;
    }
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new GcrsyncError('CONFIG', `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { ref: path });
  }
}

function credentialsOf(source: CredentialSource, env: Record<string, string | undefined>): { username: string; password: string } {
  const fromEnv = (name: string) => {
    const value = env[name];
    if (value === undefined || value === '') throw new GcrsyncError('CONFIG', `environment variable ${name} is not set`, { ref: name });
    return value;
  };
  const username = source.username ?? fromEnv(source.usernameEnv!);
  const password = source.passwordEnv !== undefined ? fromEnv(source.passwordEnv) : readTextFile(source.passwordFile!);
  if (password === '') throw new GcrsyncError('CONFIG', `the password of ${username} is empty`);
  registerSecret(password);
  return { username, password };
}

function tryOr<T>(origin: string, report: Report, run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof GcrsyncError)) throw error;
    report(origin, error.message);
    return undefined;
  }
}

export function resolveAccess(jobs: readonly JobAccess[], flags: AccessFlags, env: Record<string, string | undefined>, report: Report): CommandAccess {
  const proxies = [...new Set(jobs.flatMap((j) => (j.proxy === undefined ? [] : [j.proxy])))];
  if (proxies.length > 1) report('proxy', `the jobs name ${proxies.length} different proxies; a run has one proxy (set proxy: under defaults)`);
  const tls = mergeByHost(jobs, (j) => j.tls, 'tls mode', report);
  // the command line wins over the file
  for (const host of hosts(flags.insecureRegistry)) tls[host] = 'http';
  for (const host of hosts(flags.tlsSkipVerify)) tls[host] = 'skip-verify';

  const credentials: Record<string, Credentials> = {};
  for (const [host, source] of Object.entries(mergeByHost(jobs, (j) => j.credentials, 'credentials', report))) {
    const found = tryOr(`credentials.${host}`, report, () => credentialsOf(source, env));
    if (found !== undefined) credentials[host] = found;
  }
  if (flags.srcCreds !== undefined) {
    const given = tryOr('--src-creds', report, () => splitUserPass(flags.srcCreds!, '--src-creds'));
    const registries = jobs.map((j) => j.sourceRegistries);
    const known = [...new Set(registries.flatMap((r) => r ?? []))];
    // one user:password sent to several registries would hand one registry's secret to another
    if (registries.some((r) => r === undefined)) report('--src-creds', 'an image list names its registries only when read; give credentials: in the config file instead');
    else if (known.length !== 1) report('--src-creds', `is for one source registry, but the sources are at ${known.join(', ')}; give credentials: per registry in the config file`);
    else if (given !== undefined) credentials[known[0]!] = given;
  }
  let target: { username: string; password: string } | undefined;
  if (flags.destCreds !== undefined) target = tryOr('--dest-creds', report, () => splitUserPass(flags.destCreds!, '--dest-creds'));
  // a typo in a trust file is a configuration error before anything runs, not a failure of every image later
  if (flags.caFile !== undefined) tryOr('--ca-file', report, () => readTextFile(flags.caFile!));
  if (flags.certDir !== undefined && !isDirectory(flags.certDir)) report('--cert-dir', `${flags.certDir} is not a directory`);
  const authFile = flags.authfile ?? env.REGISTRY_AUTH_FILE;
  return {
    network: {
      ...(proxies[0] !== undefined && { proxy: proxies[0] }),
      ...(flags.certDir !== undefined && { certDirs: [flags.certDir] }),
      ...(flags.caFile !== undefined && { caFile: flags.caFile }),
      ...(Object.keys(tls).length > 0 && { tls }),
    },
    credentials,
    ...(authFile !== undefined && authFile !== '' && { authFile }),
    ...(target !== undefined && { targetCredentials: target }),
  };
}
