import type { Argv, Options } from 'yargs';
import { settingFlags } from '../src/config/schema.js';

/**
 * The flags of the run commands (a contract: keep names and defaults). Each command takes only the ones it
 * uses, so its --help lists nothing it would ignore. The flags of settings that gcrsync.yaml can also hold
 * come from src/config/schema.ts.
 */
const RUN_FLAGS = {
  source: { type: 'string', describe: 'source REGISTRY/NAMESPACE, e.g. gcr.io/google-containers' },
  namespace: { type: 'string', describe: 'shorthand for --source gcr.io/NAMESPACE' },
  config: { type: 'string', describe: 'config file with jobs (default: GCRSYNC_CONFIG, else ./gcrsync.yaml when present)' },
  job: { type: 'string', describe: 'run only this job of the config file' },
  'dry-run': { type: 'boolean', describe: 'print the plan, copy and commit nothing' },
  json: { type: 'boolean', describe: 'print a machine-readable report on stdout' },
  username: { type: 'string', describe: 'target registry user (or GCRSYNC_USERNAME)' },
  password: { type: 'string', describe: 'target registry password (or GCRSYNC_PASSWORD)' },
  'src-creds': { type: 'string', describe: 'USER:PASSWORD for the source registry' },
  'dest-creds': { type: 'string', describe: 'USER:PASSWORD for the target registry (same as --username/--password)' },
  shard: { type: 'string', describe: 'K/N: only the K-th of N stable slices of the repositories (parallel CI jobs)' },
  'max-duration': { type: 'string', describe: 'start no image after this long (e.g. 45m); finish, commit, exit 0' },
  'checkpoint-every': { type: 'string', describe: 'commit progress every N images and/or duration (50, 10m, 50,10m)' },
  'max-tags': { type: 'string', describe: 'most entries one paginated listing may hold across its pages: tags of a repository, a catalog (default 200000)' },
  'max-repositories': { type: 'string', describe: 'most repositories one namespace listing may visit (default 50000)' },
  report: { type: 'string', describe: 'also write the JSON report to this file' },
  notify: { type: 'string', describe: 'post the summary to this webhook (Slack-compatible JSON)' },
  'notify-on': { type: 'string', choices: ['failure', 'always'], describe: 'when to post (default failure)' },
  verbose: { type: 'boolean', describe: 'debug logging' },
  quiet: { type: 'boolean', describe: 'warnings and errors only' },
} satisfies Record<string, Options>;

/** The flags of src/config/schema.ts's settings that the run commands take. */
type SettingFlagName = 'target' | 'metadata-repo' | 'transport' | 'platform' | 'concurrency' | 'connections' | 'query-limit' | 'schema1' | 'allow-nondistributable' | 'proxy';

export type RunFlagName = keyof typeof RUN_FLAGS | SettingFlagName;

/** What names the jobs and how their sources are listed: every command that lists a source takes these. */
const JOB_FLAGS: RunFlagName[] = ['source', 'namespace', 'target', 'metadata-repo', 'config', 'job', 'platform', 'proxy', 'connections', 'max-tags', 'max-repositories'];
/** Credentials for the registries a command talks to. */
const CREDENTIAL_FLAGS: RunFlagName[] = ['username', 'password', 'src-creds', 'dest-creds'];
/** How images are copied. */
const COPY_FLAGS: RunFlagName[] = ['transport', 'schema1', 'allow-nondistributable'];
const OUTPUT_FLAGS: RunFlagName[] = ['json', 'verbose', 'quiet'];

/** The flag sets of the run commands. */
export const FLAG_SETS = {
  sync: [...JOB_FLAGS, ...COPY_FLAGS, 'concurrency', 'query-limit', 'dry-run', ...CREDENTIAL_FLAGS, 'shard', 'max-duration', 'checkpoint-every', 'report', 'notify', 'notify-on', ...OUTPUT_FLAGS],
  test: [...JOB_FLAGS, 'query-limit', ...CREDENTIAL_FLAGS, 'shard', 'report', ...OUTPUT_FLAGS],
  compare: [...JOB_FLAGS, 'transport', 'query-limit', 'dry-run', ...CREDENTIAL_FLAGS, 'shard', 'report', 'notify', 'notify-on', ...OUTPUT_FLAGS],
  monitor: [...JOB_FLAGS, 'query-limit', 'src-creds', ...OUTPUT_FLAGS],
  copy: ['target', 'metadata-repo', 'config', 'job', 'platform', 'proxy', 'connections', ...COPY_FLAGS, 'dry-run', ...CREDENTIAL_FLAGS, ...OUTPUT_FLAGS],
  validate: ['config', 'job', ...OUTPUT_FLAGS],
} satisfies Record<string, RunFlagName[]>;

/** The named flags; with `network` (every command that talks to registries) the network flags too. */
export function withRunFlags<T>(yargs: Argv<T>, names: readonly RunFlagName[], network = true): Argv<T> {
  const settings = settingFlags();
  let out = network ? withNetworkFlags(yargs) : yargs;
  for (const name of names) {
    if (name in RUN_FLAGS) {
      out = out.option(name, RUN_FLAGS[name as keyof typeof RUN_FLAGS]);
      continue;
    }
    const setting = settings.find((flag) => flag.name === name);
    if (setting === undefined) throw new Error(`no setting has the flag --${name}`);
    const { name: flag, ...option } = setting;
    out = out.option(flag, option);
  }
  return out;
}

const RUN_EXIT =
  'Exit status: 0 done (also when stopped by --max-duration or a pull budget); 1 some images failed, could not be listed, or a setup ' +
  'problem (credentials, read-only or unreachable target, no Docker daemon) stopped the run; 2 usage, configuration, metadata or source ' +
  'error (nothing was changed); 130/143 interrupted by Ctrl-C/SIGTERM after committing what was verified.';

/** Examples and the exit statuses at the end of a command's --help. */
export function withHelp<T>(yargs: Argv<T>, examples: ReadonlyArray<[string, string]>, exit: string = RUN_EXIT): Argv<T> {
  let out = yargs;
  for (const [command, description] of examples) out = out.example(command, description);
  return out.epilogue(exit);
}

/** How registries are reached: the run commands and login share these. */
export function withNetworkFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('authfile', { type: 'string', describe: 'auth file read before $XDG_RUNTIME_DIR/containers/auth.json and the Docker config (or REGISTRY_AUTH_FILE); login writes it' })
    .option('insecure-registry', { type: 'string', array: true, describe: 'host[:port] spoken to over plain HTTP (loopback tries HTTPS first)' })
    .option('tls-skip-verify', { type: 'string', array: true, describe: 'host[:port] spoken to over HTTPS without checking its certificate' })
    .option('cert-dir', { type: 'string', describe: 'certs.d directory with HOST[:PORT]/{ca.crt,client.cert,client.key} (default ~/.docker/certs.d and /etc/docker/certs.d)' })
    .option('ca-file', { type: 'string', describe: 'PEM file of CA certificates trusted for every registry, besides the system ones' });
}
