import type { Argv } from 'yargs';

/** The flags sync, compare, monitor, test and copy share (a contract: keep names and defaults). */
export function withRunFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('source', { type: 'string', describe: 'source REGISTRY/NAMESPACE, e.g. gcr.io/google-containers' })
    .option('namespace', { type: 'string', describe: 'shorthand for --source gcr.io/NAMESPACE' })
    .option('target', { type: 'string', describe: 'target REGISTRY[/PREFIX], e.g. docker.io/gcrxio' })
    .option('metadata-repo', { type: 'string', describe: 'metadata git repo, path or URL (default: the repo of the current directory)' })
    .option('transport', { type: 'string', choices: ['registry', 'docker'], describe: 'registry: direct, digest-preserving (default); docker: through the Docker daemon' })
    .option('concurrency', { type: 'number', describe: 'images copied at a time (default 10)' })
    .option('query-limit', { type: 'number', describe: 'registry listing requests at a time (default 20)' })
    .option('dry-run', { type: 'boolean', describe: 'print the plan, copy and commit nothing' })
    .option('json', { type: 'boolean', describe: 'print a machine-readable report on stdout' })
    .option('username', { type: 'string', describe: 'target registry user (or GCRSYNC_USERNAME)' })
    .option('password', { type: 'string', describe: 'target registry password (or GCRSYNC_PASSWORD)' })
    .option('insecure-registry', { type: 'string', array: true, describe: 'host[:port] spoken to over plain HTTP (loopback always is)' })
    .option('shard', { type: 'string', describe: 'K/N: sync only the K-th of N stable slices of the repositories (parallel CI jobs)' })
    .option('max-duration', { type: 'string', describe: 'start no image after this long (e.g. 45m); finish, commit, exit 0' })
    .option('checkpoint-every', { type: 'string', describe: 'commit progress every N images and/or duration (50, 10m, 50,10m)' })
    .option('config', { type: 'string', describe: 'config file with jobs (default: GCRSYNC_CONFIG, else ./gcrsync.yaml when present)' })
    .option('job', { type: 'string', describe: 'run only this job of the config file' })
    .option('platform', { type: 'string', array: true, describe: 'os/arch[/variant] to keep (repeat or comma-separate; default: every platform)' })
    .option('report', { type: 'string', describe: 'also write the JSON report to this file' })
    .option('notify', { type: 'string', describe: 'post the summary to this webhook (Slack-compatible JSON)' })
    .option('notify-on', { type: 'string', choices: ['failure', 'always'], describe: 'when to post (default failure)' })
    .option('verbose', { type: 'boolean', describe: 'debug logging' })
    .option('quiet', { type: 'boolean', describe: 'warnings and errors only' });
}
