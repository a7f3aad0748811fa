import { spawn } from 'node:child_process';
import { GcrsyncError } from '../errors.js';
import { registerSecret } from '../log.js';
import type { Credentials } from './credentials.js';

export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal: AbortSignal;
  /** the config file that named the helper, for error messages */
  configPath?: string;
}

const MAX_OUTPUT = 1024 * 1024;
// docker-credential-helpers credentials/error.go
const NOT_FOUND = 'credentials not found in native keychain';

/**
 * Runs `docker-credential-<suffix> get` with the server URL on stdin (docker-credential-helpers client.go).
 * Returns undefined when the helper has nothing for that server. The helper's output is never logged or put
 * in an error: it is a secret.
 */
export function runCredentialHelper(suffix: string, serverUrl: string, options: HelperOptions): Promise<Credentials | undefined> {
  const program = `docker-credential-${suffix}`;
  const where = options.configPath ? ` (named in ${options.configPath})` : '';
  // a suffix with a path separator would run an arbitrary file instead of a helper on PATH
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(suffix)) {
    return Promise.reject(new GcrsyncError('CONFIG', `credential helper name ${JSON.stringify(suffix)}${where} is not a plain name`));
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    // its own process group, so a timeout also kills whatever the helper started (which would hold stdout open)
    const child = spawn(program, ['get'], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
      signal: options.signal,
    });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      fail(new GcrsyncError('AUTH', `credential helper ${program}${where} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: GcrsyncError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        killGroup();
        fail(new GcrsyncError('AUTH', `${program}${where} wrote more than ${MAX_OUTPUT} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') fail(new GcrsyncError('CONFIG', `credential helper ${program}${where} is not on PATH`));
      else if (error.name === 'AbortError') fail(new GcrsyncError('ABORTED', `${program} aborted`));
      else fail(new GcrsyncError('AUTH', `credential helper ${program}${where} could not run (${error.code ?? error.name})`));
    });
    child.stdin.on('error', () => {
      // a helper that exits without reading stdin; its exit status tells the story
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      const output = Buffer.concat(chunks).toString('utf8');
      if (signal !== null) {
        fail(new GcrsyncError('AUTH', `credential helper ${program}${where} was killed (${signal})`));
        return;
      }
      if (code !== 0) {
        if (output.includes(NOT_FOUND)) {
          settled = true;
          resolve(undefined);
          return;
        }
        fail(new GcrsyncError('AUTH', `credential helper ${program}${where} failed for ${serverUrl} (exit ${code})`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(output);
      } catch {
        fail(new GcrsyncError('AUTH', `credential helper ${program}${where} answered something that is not JSON`));
        return;
      }
      const { Username: username, Secret: secret } = (parsed ?? {}) as { Username?: unknown; Secret?: unknown };
      if (typeof username !== 'string' || typeof secret !== 'string') {
        fail(new GcrsyncError('AUTH', `credential helper ${program}${where} answered without Username/Secret`));
        return;
      }
      settled = true;
      if (secret === '') {
        resolve(undefined);
        return;
      }
      registerSecret(secret);
      // "<token>" marks an identity (refresh) token rather than a password (cli native_store.go)
      resolve(username === '<token>' ? { identityToken: secret } : { username, password: secret });
    });
    child.stdin.end(serverUrl);
  });
}
