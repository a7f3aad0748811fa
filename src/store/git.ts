import { simpleGit } from 'simple-git';
import { GcrsyncError } from '../errors.js';
import { redact, redactAll } from '../log.js';

export interface GitOptions {
  /** directory git runs in */
  dir: string;
  signal: AbortSignal;
  /** `name=value` settings passed with `-c` for every command (e.g. the commit identity) */
  config?: readonly string[];
  /** values to mask in error messages besides the registered secrets (e.g. the password of a remote URL) */
  secrets?: readonly string[];
  /** given to git for every remote it talks to, through a credential helper reading the environment */
  credentials?: { username: string; password: string };
}

/**
 * The credential helper: a shell function whose text names environment variables only, so the token is in no
 * process's arguments (/proc/PID/cmdline) and in no file. The empty helper before it drops the user's own
 * helpers, so a `store` helper never writes the token to disk.
 */
const CREDENTIAL_HELPER = [
  'credential.helper=',
  'credential.helper=!f() { test "$1" = get && printf \'username=%s\\npassword=%s\\n\' "$GCRSYNC_GIT_USERNAME" "$GCRSYNC_GIT_PASSWORD"; }; f',
];

export interface GitOutcome {
  ok: boolean;
  /** stdout on success; stderr and stdout, redacted, on failure */
  output: string;
}

export interface Git {
  /** Runs git and returns stdout; a non-zero exit becomes GcrsyncError('GIT') with git's (redacted) words. */
  run(args: readonly string[]): Promise<string>;
  /** Runs git where failure is an expected answer (a rejected push, a missing ref); throws only when aborted. */
  attempt(args: readonly string[]): Promise<GitOutcome>;
}

// simple-git drops every ambient GIT_* variable unless it is named here. These two are the TLS trust
// settings an operator sets for an https remote behind an intercepting proxy; the rest stay dropped.
const AMBIENT_GIT_ENV = ['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH'];

// what simple-git's environment guard refuses when it is set explicitly (it drops them when they are ambient)
const GUARDED_ENV = /^(git_.*|editor|visual|pager|prefix|ssh_askpass)$/i;

/** This process's environment as simple-git lets it through: guarded variables left out, except the allowed ones. */
function ambientEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (!GUARDED_ENV.test(key) || AMBIENT_GIT_ENV.includes(key))) env[key] = value;
  }
  return env;
}

/**
 * simple-git waits an extra 50 ms after a command that printed nothing, so callers leave out `--quiet`
 * (or add `--verbose`) where git's chatter is harmless: the output is ignored anyway.
 */
export function createGit(options: GitOptions): Git {
  const { credentials } = options;
  const base = simpleGit({
    baseDir: options.dir,
    abort: options.signal,
    config: [...(options.config ?? []), ...(credentials !== undefined ? CREDENTIAL_HELPER : [])],
    allowEnvironment: AMBIENT_GIT_ENV,
    // the helper above is ours, its text fixed; simple-git refuses any credential.helper unless told
    ...(credentials !== undefined && { unsafe: { allowUnsafeCredentialHelper: true } }),
    // simple-git's default only fails a command that printed to stderr; `rev-parse -q` or
    // `merge-base --is-ancestor` fail silently, so every non-zero exit counts here
    errors: (error, result) => {
      if (error !== undefined) return error;
      if (result.exitCode === 0) return undefined;
      const text = Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8').trim();
      return Buffer.from(text === '' ? `exit code ${result.exitCode}` : text);
    },
  });
  const git =
    credentials === undefined ? base : base.env({ ...ambientEnvironment(), GCRSYNC_GIT_USERNAME: credentials.username, GCRSYNC_GIT_PASSWORD: credentials.password });
  const clean = (text: string) => redact(redactAll(text), options.secrets ?? []);

  const attempt = async (args: readonly string[]): Promise<GitOutcome> => {
    try {
      return { ok: true, output: await git.raw([...args]) };
    } catch (error) {
      if (options.signal.aborted) {
        throw new GcrsyncError('ABORTED', `git ${args[0]}: aborted`, { cause: options.signal.reason });
      }
      return { ok: false, output: clean(error instanceof Error ? error.message : String(error)) };
    }
  };

  return {
    attempt,
    async run(args) {
      const outcome = await attempt(args);
      if (outcome.ok) return outcome.output;
      // the raw error stays out of `cause`: its message is git's unredacted stderr
      throw new GcrsyncError('GIT', `git ${args[0]} failed: ${withoutHints(outcome.output)}`);
    },
  };
}

/** git's `hint:` lines explain how to use git by hand; they only lengthen our error messages. */
export function withoutHints(output: string): string {
  return output
    .split('\n')
    .filter((line) => !line.startsWith('hint:'))
    .join('\n')
    .trim();
}
