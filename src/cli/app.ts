import { jobForImage } from '../config/image-job.js';
import { parseDuration } from '../config/run-limits.js';
import { resolveJobs, type JobFlags, type RawFlags } from '../config/settings.js';
import type { JobsOptions } from '../config/job-options.js';
import type { ConfigFile } from '../config/file.js';
import { CONFIG_FILE_NAME, locateConfigFile } from '../config/locate.js';
import { describeError, exitCodeFor, GcrsyncError, UNINTERRUPTED } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import { createLogger, redactAll, redactValue, redactedJsonPieces, registerSecret, type Logger } from '../log.js';
import { deliverReport, resolveDelivery, type DeliveryOptions } from '../report/notify.js';
import { createProgress, formatRunTable, type Progress } from '../report/progress.js';
import type { InvocationReport, JobsReport } from '../report/types.js';
import { describeJobs, formatJobDescriptions } from '../jobs/describe.js';
import { formatJobsSummary, jobsExitCode, readRunStatus, runJobRuns, runJobs, type JobsDeps } from '../jobs/jobs.js';
import { createJobsDeps } from './wiring.js';
import { planRuns } from '../jobs/plan.js';
import type { MirrorNamer } from '../reconcile/plan.js';
import { runExitCode } from '../reconcile/run.js';
import type { RunObserver, RunReport } from '../reconcile/run-types.js';
import { createMirrorNamer } from '../ref/naming.js';
import { formatReference, parseReference, type Reference } from '../ref/reference.js';
import { formatSummary } from '../reconcile/report.js';
import { loadImageList, namespaceOf, type ImagesSpec } from '../sources/index.js';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { stdoutClosed } from './stdout.js';

/** The signal that interrupted the command, which decides its exit status (128 + the signal's number). */
let interruptedBy: 'SIGINT' | 'SIGTERM' | undefined;

function interruptedExitCode(): number | undefined {
  return interruptedBy === undefined ? undefined : interruptedBy === 'SIGINT' ? 130 : 143;
}

/**
 * Ctrl-C / SIGTERM stop starting images and abandon those in flight; what was verified is still committed and
 * pushed (the metadata repo does not listen to this signal), then the command exits 130 / 143. A second Ctrl-C
 * is the default (exit at once).
 */
function interruptSignal(logger: Logger): AbortSignal {
  const controller = new AbortController();
  const stop = (signal: 'SIGINT' | 'SIGTERM') => () => {
    interruptedBy ??= signal;
    logger.warn(`${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: starting no more images, committing what was verified (Ctrl-C again to stop at once)`);
    controller.abort(new GcrsyncError('ABORTED', signal === 'SIGINT' ? 'interrupted' : 'terminated'));
  };
  process.once('SIGINT', stop('SIGINT'));
  process.once('SIGTERM', stop('SIGTERM'));
  return controller.signal;
}

function reportError(error: unknown, logger: Logger): number {
  logger.error(redactAll(describeError(error)));
  if (error instanceof Error && error.stack) logger.debug(redactAll(error.stack));
  return interruptedExitCode() ?? exitCodeFor(error);
}

function secretsFromFlags(flags: RawFlags): void {
  registerSecret(flags.password);
  registerSecret(process.env.GCRSYNC_PASSWORD);
}

/** The config file of a command (`--config`, GCRSYNC_CONFIG, ./gcrsync.yaml), read and checked; undefined without one. */
async function readConfig(flags: JobFlags): Promise<ConfigFile | undefined> {
  const path = await locateConfigFile(flags.config, process.env, process.cwd());
  return path === undefined ? undefined : (await import('../config/file.js')).loadConfigFile(path, UNINTERRUPTED);
}

/**
 * What a finished command reports (printed with --json, kept with --report, posted with --notify): with flags
 * alone and one source, the single run's report exactly as before config files existed; otherwise every run
 * under its job's name.
 */
function invocationReport(options: JobsOptions, report: JobsReport): InvocationReport {
  const only = report.runs.length === 1 ? report.runs[0]?.report : undefined;
  return options.configFile === undefined && only !== undefined ? only : report;
}

async function printJobsReport(options: JobsOptions, report: JobsReport): Promise<number> {
  const shown = invocationReport(options, report);
  if (!('runs' in shown)) return printRunReport(options, shown);
  await printReport(options.json ? report : formatJobsSummary(report));
  return jobsExitCode(report);
}

/** The summary text, or the report as JSON (written in pieces: a big namespace's report is tens of MB). */
async function printReport(shown: string | RunReport | JobsReport): Promise<void> {
  if (typeof shown === 'string') {
    process.stdout.write(redactAll(shown) + '\n');
    return;
  }
  for (const piece of redactedJsonPieces(shown)) {
    // a piece at a time as the reader takes them: stdout to a pipe buffers whatever is written ahead of it
    if (!process.stdout.write(piece)) await once(process.stdout, 'drain', { signal: stdoutClosed }).catch(() => undefined);
    if (stdoutClosed.aborted) return;
  }
  process.stdout.write('\n');
}

/** One run's report on stdout (the summary, or the JSON with --json); returns its exit status. */
async function printRunReport(options: Pick<JobsOptions, 'json'>, report: RunReport): Promise<number> {
  await printReport(options.json ? report : formatSummary(report));
  return runExitCode(report);
}

interface JobsContext {
  options: JobsOptions;
  deps: JobsDeps;
  http: HttpClient;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * Runs `body` with a logger at the command's level and the jobs' clients, closing them whatever happens. With
 * `progress`, copies are shown on stderr (bars on a terminal, a periodic line in CI) and log lines print above them.
 */
async function withJobs(
  flags: JobFlags,
  resolve: (file: ConfigFile | undefined) => JobsOptions | Promise<JobsOptions>,
  body: (context: JobsContext) => Promise<number>,
  display: { progress: boolean } = { progress: false },
): Promise<number> {
  secretsFromFlags(flags);
  let logger = createLogger();
  let close: (() => Promise<void>) | undefined;
  let progress: Progress | undefined;
  try {
    const options = await resolve(await readConfig(flags));
    if (display.progress && options.logLevel !== 'warn') progress = createProgress();
    logger = createLogger({ level: options.logLevel, ...(progress !== undefined && { write: progress.log }) });
    const signal = interruptSignal(logger);
    const observer: RunObserver | undefined = progress && { planned: (n) => progress!.start(n), outcome: (o) => progress!.record(o) };
    const built = await createJobsDeps(options, logger, observer);
    close = built.close;
    return await body({ options, deps: built.deps, http: built.http, logger, signal });
  } catch (error) {
    return reportError(error, logger);
  } finally {
    progress?.stop();
    await close?.();
  }
}

/** Prints the run, keeps the report file and sends the notification; the exit status is the run's. */
async function finishRun(context: JobsContext, report: JobsReport, delivery: Pick<DeliveryOptions, 'reportFile' | 'notify'>): Promise<number> {
  const code = await printJobsReport(context.options, report);
  if (!context.options.json) process.stdout.write('\n' + formatRunTable(report) + '\n');
  // an interrupted run still reports how far it got
  const signal = context.signal.aborted ? UNINTERRUPTED : context.signal;
  const delivered = await deliverReport(invocationReport(context.options, report), { ...delivery, http: context.http, logger: context.logger, signal });
  // a report file that could not be written is a failure of the run: a CI step may depend on it
  return interruptedExitCode() ?? (delivered.saved === false ? Math.max(code, 1) : code);
}

/**
 * `sync`, `test` (sync --dry-run) and `compare`: every job of the config file (or `--job NAME`), or the one
 * source the flags name; returns the exit status.
 */
export async function runCommand(command: 'sync' | 'compare', flags: JobFlags & { verify?: boolean }): Promise<number> {
  let delivery: Pick<DeliveryOptions, 'reportFile' | 'notify'> = {};
  return withJobs(
    flags,
    (file) => {
      delivery = resolveDelivery(flags, process.env);
      return resolveJobs(file, flags, process.env);
    },
    async (context) =>
      finishRun(context, await runJobs(context.options, command, context.deps, context.signal, flags.verify === true ? 'always' : undefined), delivery),
    { progress: true },
  );
}

/**
 * `copy SRC [DST]`: one image through the same rules as sync (the job whose sources hold SRC, else `--job`,
 * else the file's defaults), recorded in the metadata of SRC's namespace. DST, when given, is the exact mirror
 * name (its tag defaults to SRC's). Tag filters do not apply: the image was asked for by name.
 */
export async function runCopy(sourceText: string, destinationText: string | undefined, flags: JobFlags): Promise<number> {
  let image: Reference | undefined;
  let destination: Reference | undefined;
  let namespace = '';
  return withJobs(
    flags,
    (file) => {
      ({ image, destination } = parseCopyArguments(sourceText, destinationText));
      const match = file === undefined ? undefined : jobForImage(file, image, flags.job);
      namespace = match?.namespace ?? namespaceOf(image);
      const chosen = { ...flags, ...(match !== undefined && { job: match.job }), ...(destination !== undefined && { target: destinationLocation(destination) }) };
      return resolveJobs(file, chosen, process.env, { entry: { kind: 'images', images: [formatReference(image)], path: 'SRC' }, origin: 'SRC' });
    },
    async ({ options, deps, signal }) => {
      const source = image!;
      const exact = destination;
      const job = options.jobs[0]!;
      const relative = namespace === '' ? source.repository : source.repository.slice(namespace.length + 1);
      const spec: ImagesSpec = {
        kind: 'images',
        registry: source.registry,
        namespace,
        images: [{ repository: relative, tags: [{ tag: source.tag!, ...(source.digest !== undefined && { digest: source.digest }) }] }],
        namedBy: 'copy',
      };
      const name: MirrorNamer =
        exact === undefined
          ? createMirrorNamer({ registry: spec.registry, namespace }, job.target, job.naming)
          : () => ({ registry: exact.registry, repository: exact.repository, tag: exact.tag ?? source.tag! });
      const report = await runJobRuns([{ job, spec, name }], deps, {
        command: 'sync',
        dryRun: options.dryRun,
        ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
        signal,
      });
      const only = report.runs[0]?.report;
      const code = only === undefined ? jobsExitCode(report) : await printRunReport(options, only);
      return interruptedExitCode() ?? code;
    },
  );
}

/** SRC with its tag (`latest` when none, as docker pull does) and DST as given; a digest alone is refused. */
function parseCopyArguments(sourceText: string, destinationText: string | undefined): { image: Reference; destination?: Reference } {
  const source = parseReference(sourceText);
  if (source.tag === undefined && source.digest !== undefined) {
    throw new GcrsyncError('USAGE', `copy needs a tag: ${JSON.stringify(sourceText)} names only a digest (write name:tag@digest)`, { ref: sourceText });
  }
  const destination = destinationText === undefined ? undefined : parseReference(destinationText);
  if (destination?.digest !== undefined) throw new GcrsyncError('USAGE', `DST ${JSON.stringify(destinationText)} cannot name a digest; the copy makes it`, { ref: destinationText! });
  return { image: { ...source, tag: source.tag ?? 'latest' }, ...(destination !== undefined && { destination }) };
}

/** The target location that holds an exact destination (`r.example.com/a/b:1` → `r.example.com` + `a`). */
function destinationLocation(destination: Reference): string {
  const slash = destination.repository.lastIndexOf('/');
  return slash < 0 ? destination.registry : `${destination.registry}/${destination.repository.slice(0, slash)}`;
}

/** `config validate`: checks the config file and prints what each job would do; 0 when valid, 2 otherwise. */
export async function runConfigValidate(flags: JobFlags): Promise<number> {
  let logger = createLogger();
  try {
    const path = await locateConfigFile(flags.config, process.env, process.cwd());
    if (path === undefined) throw new GcrsyncError('CONFIG', `no config file: give --config FILE, set GCRSYNC_CONFIG, or create ./${CONFIG_FILE_NAME}`);
    const { invalid, loadConfigFileProblems } = await import('../config/file.js');
    const { config, problems } = await loadConfigFileProblems(path, UNINTERRUPTED);
    if (problems.length > 0) throw invalid(path, [...problems, ...(await wellShapedJobProblems(config, flags))]);
    const options = resolveJobs(config!, flags, process.env);
    logger = createLogger({ level: options.logLevel });
    const described = await describeJobs(options, { loadImageList: (path, signal) => loadImageList(path, signal) }, UNINTERRUPTED);
    process.stdout.write(redactAll(options.json ? JSON.stringify(redactValue({ file: path, ...described }), null, 2) : formatJobDescriptions(path, described)) + '\n');
    if (described.conflicts.length > 0) {
      logger.error(`${described.conflicts.length} mirror name conflict(s) among the named images; sync would copy nothing`);
      return 2;
    }
    return 0;
  } catch (error) {
    return reportError(error, logger);
  }
}

/**
 * Beside a file's schema problems, the problems of its well-shaped jobs (filters, naming, references, mirror
 * name conflicts), so one run of `config validate` lists them all.
 */
async function wellShapedJobProblems(config: ConfigFile | undefined, flags: JobFlags): Promise<string[]> {
  const only = flags.job ?? process.env.GCRSYNC_JOB;
  if (config === undefined || config.jobs.length === 0 || (only !== undefined && !config.jobs.some((j) => j.name === only))) return [];
  try {
    const options = resolveJobs(config, flags, process.env);
    const { conflicts } = await describeJobs(options, { loadImageList: (path, signal) => loadImageList(path, signal) }, UNINTERRUPTED);
    return conflicts.map((c) => `mirror name conflict: ${c}`);
  } catch (error) {
    if (error instanceof GcrsyncError && error.info.problems !== undefined) return error.info.problems;
    if (error instanceof GcrsyncError) return [error.message];
    throw error;
  }
}

/** `monitor`: prints source total / synced / waiting of every run every interval, `count` times (or until interrupted). */
export async function runMonitor(flags: JobFlags & { interval?: string; count?: number }): Promise<number> {
  let intervalMs = 0;
  return withJobs(
    flags,
    async (file) => {
      const target = await (await import('./monitor-target.js')).recordedTarget(file, flags, process.env);
      const options = resolveJobs(file, target === undefined ? flags : { ...flags, target }, process.env);
      intervalMs = parseDuration('interval', flags.interval ?? '5s');
      if (flags.count !== undefined && (!Number.isInteger(flags.count) || flags.count < 1)) {
        throw new GcrsyncError('USAGE', `--count must be a whole number of at least 1, got ${JSON.stringify(flags.count)}`);
      }
      return options;
    },
    async ({ options, deps, signal }) => {
      const runs = await planRuns(options.jobs, deps, signal);
      // with flags alone the lines are what they always were; with a config file each names its job
      const named = options.configFile !== undefined;
      for (let round = 1; flags.count === undefined || round <= flags.count; round++) {
        const time = new Date().toISOString();
        for (const { job, ...status } of await readRunStatus(runs, deps, signal)) {
          const line = options.json
            ? JSON.stringify({ time, ...(named && { job }), ...status })
            : `${time} ${named ? `job ${job} ` : ''}${status.source}: total ${status.total}, synced ${status.synced}, waiting ${status.waiting}`;
          process.stdout.write(line + '\n');
        }
        if ((flags.count !== undefined && round === flags.count) || stdoutClosed.aborted) break;
        // one listener for the whole wait, removed with it: rounds must not pile listeners onto the signal
        try {
          await delay(intervalMs, undefined, { signal: AbortSignal.any([signal, stdoutClosed]) });
        } catch {
          break;
        }
      }
      return 0;
    },
  );
}
