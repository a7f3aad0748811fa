import { spawn } from 'node:child_process';
import type { HookCommand } from '../config/job-options.js';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { timedOut } from '../http/retry.js';
import type { Logger } from '../log.js';
import type { PushHooks } from '../reconcile/execute.js';
import { formatReference, formatRepository } from '../ref/reference.js';
import type { RepositoryRef } from '../registry/client.js';

/**
 * Target hooks: commands a job runs before the first push into a repository the target does not have yet
 * (`aws ecr create-repository`) and after each verified push (make the repository public on Huawei SWR).
 * Names reach a command only through environment variables, never through the command text, so a name
 * can never become shell syntax. A command that runs too long is killed with its whole process group.
 */

export type HookName = 'beforeRepository' | 'afterPush';

/** How much of a hook's output is kept for its failure message. */
const OUTPUT_TAIL_BYTES = 2048;
/** After SIGTERM, how long a hook's process group has before SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface HookRunOptions {
  logger: Logger;
  signal: AbortSignal;
  /** the environment the command inherits (default: this process's) */
  baseEnv?: NodeJS.ProcessEnv;
}

function describeCommand(run: string | string[]): string {
  const text = typeof run === 'string' ? run : run.join(' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // a negative pid addresses the process group the hook leads (spawned detached)
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Runs one hook command with `vars` added to the environment; resolves when it exits 0. Throws REGISTRY
 * (the hook prepares the target registry) naming the hook, the command and the tail of its output when it
 * fails or times out, and ABORTED when `signal` fires.
 */
export function runHook(name: HookName, command: HookCommand, vars: Record<string, string>, options: HookRunOptions): Promise<void> {
  const [file, args] = typeof command.run === 'string' ? ['/bin/sh', ['-c', command.run]] : [command.run[0]!, command.run.slice(1)];
  const what = `${name} hook (${describeCommand(command.run)})`;
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(new GcrsyncError('ABORTED', `${what} was not started: interrupted`, { cause: options.signal.reason }));
      return;
    }
    const child = spawn(file, args, {
      env: { ...(options.baseEnv ?? process.env), ...vars },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so a timeout ends the command and everything it started
      detached: true,
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let stopped: 'timeout' | 'aborted' | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'aborted') => {
      stopped ??= why;
      killGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), command.timeoutMs);
    const onAbort = () => stop('aborted');
    options.signal.addEventListener('abort', onAbort, { once: true });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // whatever the command left running in its group would hold the pipes open (and outlive the run)
      killGroup(child.pid, 'SIGKILL');
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      reject(new GcrsyncError('REGISTRY', `${what} could not start: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error }));
    });
    child.on('close', () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      options.signal.removeEventListener('abort', onAbort);
      const tail = output.trim();
      if (tail !== '') options.logger.debug(`${name} hook output`, { output: tail });
      const shown = tail === '' ? '' : `: ${tail.split('\n').slice(-5).join(' | ')}`;
      if (stopped === 'aborted') reject(new GcrsyncError('ABORTED', `${what} was interrupted`, { cause: options.signal.reason }));
      else if (stopped === 'timeout') reject(new GcrsyncError('REGISTRY', `${what} timed out after ${command.timeoutMs} ms and was killed${shown}`, { cause: timedOut(command.timeoutMs) }));
      else if (exit?.code === 0) resolve();
      else {
        const status = exit?.code !== null && exit?.code !== undefined ? `exited with status ${exit.code}` : `was killed by ${exit?.signal ?? 'a signal'}`;
        reject(new GcrsyncError('REGISTRY', `${what} ${status}${shown}`));
      }
    });
  });
}

export interface PushHookContext {
  job: string;
  logger: Logger;
  /** true when the target has the repository (its tag list answers); beforeRepository runs only when it does not */
  repositoryExists(repo: RepositoryRef, signal: AbortSignal): Promise<boolean>;
  baseEnv?: NodeJS.ProcessEnv;
}

/** The executor's push hooks for one job's commands; undefined when the job has none. */
export function createPushHooks(
  hooks: { beforeRepository?: HookCommand; afterPush?: HookCommand },
  context: PushHookContext,
): PushHooks | undefined {
  const { beforeRepository, afterPush } = hooks;
  if (beforeRepository === undefined && afterPush === undefined) return undefined;
  const options = (signal: AbortSignal): HookRunOptions => ({
    logger: context.logger,
    signal,
    ...(context.baseEnv !== undefined && { baseEnv: context.baseEnv }),
  });
  return {
    ...(beforeRepository !== undefined && {
      beforeRepository: async (repo: RepositoryRef, signal: AbortSignal) => {
        if (await context.repositoryExists(repo, signal)) {
          context.logger.debug('target repository exists; beforeRepository hook not needed', { repository: formatRepository(repo) });
          return;
        }
        context.logger.info('running beforeRepository hook', { job: context.job, repository: formatRepository(repo) });
        await runHook(
          'beforeRepository',
          beforeRepository,
          { GCRSYNC_HOOK: 'beforeRepository', GCRSYNC_JOB: context.job, GCRSYNC_TARGET_REGISTRY: repo.registry, GCRSYNC_TARGET_REPOSITORY: repo.repository },
          options(signal),
        );
      },
    }),
    ...(afterPush !== undefined && {
      afterPush: async (item, result, signal) => {
        await runHook(
          'afterPush',
          afterPush,
          {
            GCRSYNC_HOOK: 'afterPush',
            GCRSYNC_JOB: context.job,
            GCRSYNC_SOURCE: formatReference(item.source),
            GCRSYNC_SOURCE_REGISTRY: item.source.registry,
            GCRSYNC_SOURCE_REPOSITORY: item.source.repository,
            GCRSYNC_SOURCE_DIGEST: result.sourceDigest,
            GCRSYNC_TAG: item.tag,
            GCRSYNC_TARGET: formatReference(item.target),
            GCRSYNC_TARGET_REGISTRY: item.target.registry,
            GCRSYNC_TARGET_REPOSITORY: item.target.repository,
            GCRSYNC_TARGET_TAG: item.target.tag ?? item.tag,
            GCRSYNC_DIGEST: result.targetDigest,
            GCRSYNC_PLATFORMS: result.platforms.join(','),
          },
          options(signal),
        );
      },
    }),
  };
}

/** A `repositoryExists` from a tag lister: a 404 (NAME_UNKNOWN) or a refusal to show it means "not there yet". */
export function repositoryExistsVia(listTags: (repo: RepositoryRef, signal: AbortSignal) => Promise<unknown>) {
  return async (repo: RepositoryRef, signal: AbortSignal): Promise<boolean> => {
    try {
      await listTags(repo, signal);
      return true;
    } catch (error) {
      // Some registries answer 401/403 for a repository that does not exist; a hook that creates it is then
      // still the right call (hooks are meant to be idempotent, see docs/targets.md).
      if (isGcrsyncError(error, 'NOT_FOUND') || isGcrsyncError(error, 'AUTH')) return false;
      throw error;
    }
  };
}
