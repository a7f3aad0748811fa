import Dockerode from 'dockerode';
import { createKeychain } from './auth/keychain.js';
import { parseDuration, resolveRunOptions, type RawFlags, type RunOptions } from './config.js';
import { describeError, exitCodeFor, GcrsyncError } from './errors.js';
import { HttpClient } from './http/client.js';
import { createLogger, redactAll, registerSecret, type Logger } from './log.js';
import { readStatus, runCompare, runExitCode, runSync, type RunDeps, type RunSettings } from './reconcile/run.js';
import { formatSummary } from './reconcile/report.js';
import { RegistryClient } from './registry/client.js';
import { listNamespace } from './sources/index.js';
import { openMetadataRepo } from './store/metadata-repo.js';
import { createDockerTransport } from './transports/docker.js';
import { createRegistryTransport } from './transports/registry.js';
import type { Transport } from './transports/transport.js';

/** Builds what a run talks to from resolved options: the only place where real clients are created. */
async function createRunDeps(options: RunOptions, logger: Logger, signal?: AbortSignal): Promise<{ deps: RunDeps; close(): Promise<void> }> {
  const keychain = createKeychain({
    ...(options.targetCredentials !== undefined && { explicit: { [options.target.registry]: options.targetCredentials } }),
  });
  const http = new HttpClient({ logger, insecureRegistries: options.insecureRegistries });
  const registry = new RegistryClient({ http, keychain, logger });
  const metadata = await openMetadataRepo({
    ...(options.metadataRepo !== undefined && { location: options.metadataRepo }),
    logger,
    ...(signal !== undefined && { signal }),
  });
  const createTransport = (): Transport =>
    options.transport === 'docker'
      ? createDockerTransport({ docker: new Dockerode(), keychain, logger })
      : createRegistryTransport({ client: registry, logger });
  const deps: RunDeps = {
    logger,
    metadata,
    listSource: (source, s) => listNamespace(registry, source, { queryLimit: options.queryLimit, logger, ...(s !== undefined && { signal: s }) }),
    headTarget: (repo, reference, s) => registry.headManifest(repo, reference, s),
    createTransport,
  };
  return {
    deps,
    close: async () => {
      await http.close();
      await metadata.close();
    },
  };
}

function settingsOf(options: RunOptions, signal?: AbortSignal): RunSettings {
  return {
    source: options.source,
    target: options.target,
    concurrency: options.concurrency,
    queryLimit: options.queryLimit,
    dryRun: options.dryRun,
    ...(signal !== undefined && { signal }),
    ...(options.shard !== undefined && { shard: options.shard }),
    ...(options.maxDurationMs !== undefined && { maxDurationMs: options.maxDurationMs }),
    ...(options.checkpoint !== undefined && { checkpoint: options.checkpoint }),
  };
}

/** Ctrl-C stops starting new work; a second Ctrl-C is the default (exit at once). */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new GcrsyncError('ABORTED', 'interrupted')));
  process.once('SIGTERM', () => controller.abort(new GcrsyncError('ABORTED', 'terminated')));
  return controller.signal;
}

function reportError(error: unknown, logger: Logger): number {
  logger.error(redactAll(describeError(error)));
  if (error instanceof Error && error.stack) logger.debug(redactAll(error.stack));
  return exitCodeFor(error);
}

function secretsFromFlags(flags: RawFlags): void {
  registerSecret(flags.password);
  registerSecret(process.env.GCRSYNC_PASSWORD);
}

/** `sync`, `test` (sync --dry-run) and `compare`: returns the exit status. */
export async function runCommand(command: 'sync' | 'compare', flags: RawFlags): Promise<number> {
  secretsFromFlags(flags);
  let logger = createLogger();
  let close: (() => Promise<void>) | undefined;
  try {
    const options = resolveRunOptions(flags, process.env);
    logger = createLogger({ level: options.logLevel });
    const signal = interruptSignal();
    const built = await createRunDeps(options, logger, signal);
    close = built.close;
    const run = command === 'compare' ? runCompare : runSync;
    const report = await run(built.deps, settingsOf(options, signal));
    process.stdout.write(redactAll(options.json ? JSON.stringify(report, null, 2) : formatSummary(report)) + '\n');
    return runExitCode(report);
  } catch (error) {
    return reportError(error, logger);
  } finally {
    await close?.();
  }
}

/** `monitor`: prints source total / synced / waiting every interval, `count` times (or until interrupted). */
export async function runMonitor(flags: RawFlags & { interval?: string; count?: number }): Promise<number> {
  secretsFromFlags(flags);
  let logger = createLogger();
  let close: (() => Promise<void>) | undefined;
  try {
    const options = resolveRunOptions(flags, process.env);
    logger = createLogger({ level: options.logLevel });
    const intervalMs = parseDuration('interval', flags.interval ?? '5s');
    if (flags.count !== undefined && (!Number.isInteger(flags.count) || flags.count < 1)) {
      throw new GcrsyncError('USAGE', `--count must be a whole number of at least 1, got ${JSON.stringify(flags.count)}`);
    }
    const signal = interruptSignal();
    const built = await createRunDeps(options, logger, signal);
    close = built.close;
    for (let round = 1; flags.count === undefined || round <= flags.count; round++) {
      await built.deps.metadata.refresh(signal);
      const status = await readStatus(built.deps, settingsOf(options, signal));
      const line = options.json
        ? JSON.stringify({ time: new Date().toISOString(), ...status })
        : `${new Date().toISOString()} ${status.source}: total ${status.total}, synced ${status.synced}, waiting ${status.waiting}`;
      process.stdout.write(line + '\n');
      if (flags.count !== undefined && round === flags.count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (signal.aborted) break;
    }
    return 0;
  } catch (error) {
    return reportError(error, logger);
  } finally {
    await close?.();
  }
}
