import { createKeychain } from '../auth/keychain.js';
import { describeError, exitCodeFor, GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { createLogger, type Logger, redactAll } from '../log.js';
import { parseReference } from '../ref/reference.js';
import type { MirrorMatch, Resolution } from '../browse/lookup.js';
import { openMirrorSource, type MirrorSource } from '../browse/mirror-source.js';
import { planPull, pullCommands, pullThroughDaemon, type Runtime } from '../browse/pull.js';
import { connectDocker } from '../transports/docker.js';
import { plainHttpAllowed } from '../http/url-policy.js';

/** Flags every command that reads the metadata repo takes. */
export interface ReaderFlags {
  metadataRepo?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** Where a command's results go (stdout unless a test captures them). */
export type Write = (text: string) => void;
const stdout: Write = (text) => process.stdout.write(text);

/** `gcrsync list [QUERY]`: every mirrored tag matching QUERY; exit 1 when nothing matches. */
export async function runList(flags: ReaderFlags & { query?: string }, write: Write = stdout): Promise<number> {
  return withMirrors(flags, () => undefined, async (source) => {
    const matches = source.index.search(flags.query);
    if (flags.json) {
      write(JSON.stringify(matches, null, 2) + '\n');
    } else {
      const width = Math.max(0, ...matches.map((match) => match.source.length));
      for (const match of matches) write(`${match.source.padEnd(width)}  ${match.mirror}\n`);
    }
    return matches.length > 0 ? 0 : 1;
  });
}

/** `gcrsync where IMAGE...`: the mirror reference of each image, one per line; exit 1 when one is not mirrored. */
export async function runWhere(flags: ReaderFlags & { images: string[] }, write: Write = stdout): Promise<number> {
  return withMirrors(flags, validated(flags.images), async (source, logger) => {
    const answers = flags.images.map((image) => source.index.resolve(image));
    if (flags.json) {
      write(JSON.stringify(answers.map(describeResolution), null, 2) + '\n');
    } else {
      for (const answer of answers) {
        if (answer.mirrored) write(`${answer.match.mirror}\n`);
        else logger.error(`${answer.image} is not mirrored: ${answer.reason}`);
      }
    }
    return answers.every((answer) => answer.mirrored) ? 0 : 1;
  });
}

export interface PullFlags extends ReaderFlags {
  images: string[];
  /** print the commands instead of running them */
  print?: boolean;
  runtime?: string;
  platform?: string;
  insecureRegistry?: string[];
}

/**
 * `gcrsync pull IMAGE...`: pulls each image's mirror through the Docker daemon (DOCKER_HOST is honoured) and
 * tags it with the original name; `--print` prints the docker, ctr or crictl commands instead. Exit 1 when an
 * image is not mirrored or its pull failed (the others are still pulled).
 */
export async function runPull(flags: PullFlags, write: Write = stdout): Promise<number> {
  const runtime = () => runtimeOf(flags);
  const check = () => {
    runtime();
    // planning each image against itself refuses names that cannot become a local tag (a digest alone)
    for (const image of flags.images) planPull(image, image);
  };
  return withMirrors(flags, validated(flags.images, check), async (source, logger) => {
    // loaded only when the daemon is really used: --print needs none of it
    const docker = flags.print ? undefined : await connectDocker();
    const keychain = createKeychain();
    let status = 0;
    const results: Array<Record<string, unknown>> = [];
    for (const image of flags.images) {
      const answer = source.index.resolve(image);
      if (!answer.mirrored) {
        logger.error(`${answer.image} is not mirrored: ${answer.reason}`);
        results.push(describeResolution(answer));
        status = 1;
        continue;
      }
      const plan = planPull(image, answer.match.mirror);
      if (docker === undefined) {
        const commands = pullCommands(plan, runtime(), {
          plainHttp: plainHttpAllowed(plan.mirror.registry, flags.insecureRegistry ?? []),
          ...(flags.platform !== undefined && { platform: flags.platform }),
        });
        results.push({ ...describeResolution(answer), commands });
        if (!flags.json) write(commands.join('\n') + '\n');
        continue;
      }
      try {
        const id = await pullThroughDaemon(plan, { docker, keychain, logger, signal: UNINTERRUPTED, ...(flags.platform !== undefined && { platform: flags.platform }) });
        results.push({ ...describeResolution(answer), pulled: true, id });
        if (!flags.json) write(`${answer.image} <- ${answer.match.mirror} (${id})\n`);
      } catch (error) {
        if (error instanceof GcrsyncError && error.code === 'ABORTED') throw error;
        logger.error(redactAll(describeError(error)));
        results.push({ ...describeResolution(answer), pulled: false, error: redactAll(describeError(error)) });
        status = 1;
      }
    }
    if (flags.json) write(JSON.stringify(results, null, 2) + '\n');
    return status;
  });
}

function runtimeOf(flags: PullFlags): Runtime {
  const runtime = flags.runtime ?? 'docker';
  if (runtime !== 'docker' && runtime !== 'ctr' && runtime !== 'crictl') {
    throw new GcrsyncError('USAGE', `--runtime must be docker, ctr or crictl, got ${JSON.stringify(runtime)}`);
  }
  if (runtime !== 'docker' && !flags.print) {
    throw new GcrsyncError('USAGE', `pulling through ${runtime} is printed, not run: add --print`);
  }
  return runtime;
}

function describeResolution(answer: Resolution): Record<string, unknown> & { image: string; mirrored: boolean } {
  if (!answer.mirrored) return { image: answer.image, mirrored: false, reason: answer.reason };
  const match: MirrorMatch = answer.match;
  return { image: answer.image, mirrored: true, ...match };
}

export function loggerFor(flags: { verbose?: boolean; quiet?: boolean }): Logger {
  return createLogger({ level: flags.verbose ? 'debug' : flags.quiet ? 'error' : 'info' });
}

/** Checks the arguments before the metadata repo is cloned: a malformed reference is a usage error (exit 2), not "not mirrored". */
function validated(images: readonly string[], more: () => unknown = () => undefined): () => void {
  return () => {
    for (const image of images) parseReference(image);
    more();
  };
}

/**
 * Checks the arguments (`check` throws), opens the metadata repo (flag, GCRSYNC_METADATA_REPO, or the current
 * directory's), runs `body`, closes the repo. Errors are logged and exit 2.
 */
export async function withMirrors(
  flags: ReaderFlags,
  check: () => void,
  body: (source: MirrorSource, logger: Logger) => Promise<number>,
): Promise<number> {
  const logger = loggerFor(flags);
  let source: MirrorSource | undefined;
  try {
    check();
    const location = flags.metadataRepo ?? nonEmpty(process.env.GCRSYNC_METADATA_REPO);
    source = await openMirrorSource({ ...(location !== undefined && { location }), logger, signal: UNINTERRUPTED });
    if (source.index.size === 0) logger.warn('the metadata repo has no metadata files yet');
    return await body(source, logger);
  } catch (error) {
    logger.error(redactAll(describeError(error)));
    if (error instanceof Error && error.stack) logger.debug(redactAll(error.stack));
    return exitCodeFor(error);
  } finally {
    await source?.close();
  }
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}
