import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { resolve } from 'node:path';
import { type ReaderFlags, withMirrors, type Write } from './browse.js';
import { parseDuration } from '../config/run-limits.js';
import { describeError, GcrsyncError, UNINTERRUPTED } from '../errors.js';
import { writeFileAtomic } from '../store/json-file.js';
import { rewriteManifests } from '../kube/rewrite.js';
import { MUTATE_PATH, startWebhookServer } from '../kube/webhook-server.js';

export interface RewriteFlags extends ReaderFlags {
  /** a file, or `-` for stdin */
  file: string;
  /** list what is not mirrored and exit 1 if anything is; print no YAML */
  check?: boolean;
  /** write the result back to the file instead of stdout */
  inPlace?: boolean;
}

/**
 * `gcrsync rewrite FILE|-`: the YAML with every mirrored image replaced by its mirror, on stdout (or back into
 * the file). Images that are not mirrored stay as they are and are listed on stderr; `--check` lists them on
 * stdout instead of printing YAML and exits 1 when there are any. `--json` prints the changes as JSON.
 */
export async function runRewrite(flags: RewriteFlags, write: Write = (text) => process.stdout.write(text)): Promise<number> {
  let text: string | undefined;
  const check = () => {
    if (flags.inPlace && flags.file === '-') throw new GcrsyncError('USAGE', '--in-place needs a file, not stdin');
    if (flags.inPlace && flags.check) throw new GcrsyncError('USAGE', '--check changes nothing; leave out --in-place');
  };
  return withMirrors(flags, check, async (source, logger) => {
    text = await readInput(flags.file);
    const label = flags.file === '-' ? '<stdin>' : flags.file;
    const result = rewriteManifests(text, source.index, label);
    const listing = result.notMirrored.map((missing) => `${label}:${missing.line}: ${missing.where}: ${missing.image} is not mirrored (${missing.reason})`);
    if (flags.check) {
      if (flags.json) write(JSON.stringify({ changes: result.changes, notMirrored: result.notMirrored }, null, 2) + '\n');
      else for (const line of listing) write(line + '\n');
      return result.notMirrored.length > 0 ? 1 : 0;
    }
    for (const line of listing) logger.warn(line);
    if (flags.inPlace) {
      if (result.text !== text) await writeFileAtomic(resolve(flags.file), result.text, UNINTERRUPTED);
      logger.info(`${label}: ${result.changes.length} image(s) rewritten`);
    }
    if (flags.json) write(JSON.stringify({ changes: result.changes, notMirrored: result.notMirrored }, null, 2) + '\n');
    else if (!flags.inPlace) write(result.text);
    return 0;
  });
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new GcrsyncError('USAGE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`, { ref: file });
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface WebhookFlags extends ReaderFlags {
  tlsCert?: string;
  tlsKey?: string;
  host?: string;
  port?: number;
  /** how often the metadata repo is fetched again (and the certificate files re-read) */
  refresh?: string;
}

/**
 * `gcrsync webhook`: the mutating admission webhook over HTTPS until SIGTERM/SIGINT. The metadata is fetched
 * again every `--refresh`; a failed refresh keeps the previous answers. A rotated certificate (the Secret's
 * files changing) is picked up on the same schedule.
 */
export async function runWebhook(flags: WebhookFlags): Promise<number> {
  let refreshMs = 0;
  const check = () => {
    if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw new GcrsyncError('USAGE', 'the webhook needs --tls-cert and --tls-key (PEM files)');
    if (flags.port !== undefined && (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535)) {
      throw new GcrsyncError('USAGE', `--port must be 0-65535, got ${JSON.stringify(flags.port)}`);
    }
    refreshMs = parseDuration('refresh', flags.refresh ?? '1m');
    if (refreshMs < 1000) throw new GcrsyncError('USAGE', '--refresh must be at least 1s');
  };
  return withMirrors(flags, check, async (source, logger) => {
    const stop = stopSignal();
    let tls = await readTls(flags.tlsCert!, flags.tlsKey!);
    const server = await startWebhookServer({
      ...tls,
      ...(flags.host !== undefined && { host: flags.host }),
      ...(flags.port !== undefined && { port: flags.port }),
      resolver: () => source.index,
      logger,
    });
    logger.info('webhook listening', { url: `${server.url}${MUTATE_PATH}`, namespaces: source.index.size });
    try {
      while (!stop.signal.aborted) {
        await stop.sleep(refreshMs);
        if (stop.signal.aborted) break;
        try {
          const index = await source.reload(stop.signal);
          logger.debug('metadata refreshed', { namespaces: index.size });
        } catch (error) {
          if (stop.signal.aborted) break;
          logger.warn('metadata refresh failed; answering from the previous metadata', { error: describeError(error) });
        }
        try {
          const next = await readTls(flags.tlsCert!, flags.tlsKey!);
          if (next.cert !== tls.cert || next.key !== tls.key) {
            server.setCertificate(next.cert, next.key);
            tls = next;
            logger.info('TLS certificate reloaded');
          }
        } catch (error) {
          logger.warn('could not reload the TLS certificate; keeping the current one', { error: describeError(error) });
        }
      }
    } finally {
      await server.close();
    }
    logger.info('webhook stopped');
    return 0;
  });
}

async function readTls(certFile: string, keyFile: string): Promise<{ cert: string; key: string }> {
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (error) {
    throw new GcrsyncError('CONFIG', `cannot read the TLS certificate or key: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`);
  }
}

/** SIGTERM (a pod being stopped) and SIGINT end the server loop. */
function stopSignal(): { signal: AbortSignal; sleep(ms: number): Promise<void> } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    signal: controller.signal,
    // the timer's abort listener goes away with the timer: a refresh loop must not add one per round
    sleep: (ms) => delay(ms, undefined, { signal: controller.signal }).catch(() => undefined),
  };
}
