import type { Argv } from 'yargs';
import { settingFlags } from '../src/config/schema.js';

/**
 * The flags sync, compare, monitor, test and copy share (a contract: keep names and defaults). The flags of
 * settings that gcrsync.yaml can also hold come from src/config/schema.ts.
 */
export function withRunFlags<T>(yargs: Argv<T>) {
  const sources = yargs
    .option('source', { type: 'string', describe: 'source REGISTRY/NAMESPACE, e.g. gcr.io/google-containers' })
    .option('namespace', { type: 'string', describe: 'shorthand for --source gcr.io/NAMESPACE' });
  return withNetworkFlags(settingFlags().reduce((argv, { name, ...option }) => argv.option(name, option), sources))
    .option('dry-run', { type: 'boolean', describe: 'print the plan, copy and commit nothing' })
    .option('json', { type: 'boolean', describe: 'print a machine-readable report on stdout' })
    .option('username', { type: 'string', describe: 'target registry user (or GCRSYNC_USERNAME)' })
    .option('password', { type: 'string', describe: 'target registry password (or GCRSYNC_PASSWORD)' })
    .option('src-creds', { type: 'string', describe: 'USER:PASSWORD for the source registry' })
    .option('dest-creds', { type: 'string', describe: 'USER:PASSWORD for the target registry (same as --username/--password)' })
    .option('shard', { type: 'string', describe: 'K/N: sync only the K-th of N stable slices of the repositories (parallel CI jobs)' })
    .option('max-duration', { type: 'string', describe: 'start no image after this long (e.g. 45m); finish, commit, exit 0' })
    .option('checkpoint-every', { type: 'string', describe: 'commit progress every N images and/or duration (50, 10m, 50,10m)' })
    .option('max-tags', { type: 'string', describe: 'most entries one paginated listing may hold across its pages: tags of a repository, a catalog (default 200000)' })
    .option('max-repositories', { type: 'string', describe: 'most repositories one namespace listing may visit (default 50000)' })
    .option('config', { type: 'string', describe: 'config file with jobs (default: GCRSYNC_CONFIG, else ./gcrsync.yaml when present)' })
    .option('job', { type: 'string', describe: 'run only this job of the config file' })
    .option('report', { type: 'string', describe: 'also write the JSON report to this file' })
    .option('notify', { type: 'string', describe: 'post the summary to this webhook (Slack-compatible JSON)' })
    .option('notify-on', { type: 'string', choices: ['failure', 'always'], describe: 'when to post (default failure)' })
    .option('verbose', { type: 'boolean', describe: 'debug logging' })
    .option('quiet', { type: 'boolean', describe: 'warnings and errors only' });
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
