import { GcrsyncError } from './errors.js';
import { parseLocation } from './ref/reference.js';
import type { SourceLocation, TargetLocation } from './ref/naming.js';

export type TransportName = 'docker' | 'registry';

/** Everything a sync, compare, monitor or dry run needs, resolved and validated once at the edge. */
export interface RunOptions {
  source: SourceLocation;
  target: TargetLocation;
  /** path or URL of the metadata repo; undefined = the git repository of the current directory */
  metadataRepo?: string;
  transport: TransportName;
  concurrency: number;
  queryLimit: number;
  dryRun: boolean;
  json: boolean;
  /** credentials for the target registry (flags or GCRSYNC_USERNAME / GCRSYNC_PASSWORD) */
  targetCredentials?: { username: string; password: string };
  insecureRegistries: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `--shard K/N`: only the K-th (1-based) of N stable slices of the namespace's repositories */
  shard?: { index: number; count: number };
  /** `--max-duration`: start no image after this long; finish, commit and exit 0 */
  maxDurationMs?: number;
  /** `--checkpoint-every 50,10m`: commit progress every N images and/or every interval */
  checkpoint?: { images?: number; intervalMs?: number };
}

/** The raw flags, as yargs hands them over. */
export interface RawFlags {
  source?: string;
  namespace?: string;
  target?: string;
  metadataRepo?: string;
  transport?: string;
  concurrency?: number;
  queryLimit?: number;
  dryRun?: boolean;
  json?: boolean;
  username?: string;
  password?: string;
  insecureRegistry?: string[] | string;
  verbose?: boolean;
  quiet?: boolean;
  shard?: string;
  maxDuration?: string;
  checkpointEvery?: string;
}

function usage(message: string, ref?: string): GcrsyncError {
  return new GcrsyncError('USAGE', message, ref === undefined ? {} : { ref });
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw usage(`--${name} must be a whole number from 1 to 1000, got ${JSON.stringify(value)}`);
  return n;
}

/** Flags win over GCRSYNC_* environment variables; pure, so it is tested with tables. */
export function resolveRunOptions(flags: RawFlags, env: Record<string, string | undefined>): RunOptions {
  const sourceText = flags.source ?? (flags.namespace !== undefined ? `gcr.io/${flags.namespace}` : env.GCRSYNC_SOURCE);
  if (sourceText === undefined) throw usage('a source is required: --source REGISTRY/NAMESPACE (or --namespace NS for gcr.io/NS)');
  if (flags.source !== undefined && flags.namespace !== undefined) throw usage('give --source or --namespace, not both');
  const targetText = flags.target ?? env.GCRSYNC_TARGET;
  if (targetText === undefined) throw usage('a target is required: --target REGISTRY[/PREFIX]');
  const source = parseLocation(sourceText);
  const target = parseLocation(targetText);
  const transport = flags.transport ?? env.GCRSYNC_TRANSPORT ?? 'registry';
  if (transport !== 'docker' && transport !== 'registry') {
    throw usage(`--transport must be "docker" or "registry", got ${JSON.stringify(transport)}`);
  }
  const username = flags.username ?? env.GCRSYNC_USERNAME;
  const password = flags.password ?? env.GCRSYNC_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw usage('target credentials need both a username and a password (--username/--password or GCRSYNC_USERNAME/GCRSYNC_PASSWORD)');
  }
  const insecure = flags.insecureRegistry === undefined ? [] : ([] as string[]).concat(flags.insecureRegistry);
  const metadataRepo = flags.metadataRepo ?? env.GCRSYNC_METADATA_REPO;
  return {
    source: { registry: source.registry, namespace: source.path },
    target: { registry: target.registry, path: target.path },
    ...(metadataRepo !== undefined && { metadataRepo }),
    transport,
    concurrency: positiveInteger('concurrency', flags.concurrency ?? env.GCRSYNC_CONCURRENCY, 10),
    queryLimit: positiveInteger('query-limit', flags.queryLimit ?? env.GCRSYNC_QUERY_LIMIT, 20),
    dryRun: flags.dryRun ?? false,
    json: flags.json ?? false,
    ...(username !== undefined && password !== undefined && { targetCredentials: { username, password } }),
    insecureRegistries: insecure.flatMap((h) => h.split(',')).map((h) => h.trim()).filter((h) => h !== ''),
    logLevel: flags.verbose ? 'debug' : flags.quiet ? 'warn' : 'info',
    ...optionalRunLimits(flags, env),
  };
}

function optionalRunLimits(flags: RawFlags, env: Record<string, string | undefined>): Pick<RunOptions, 'shard' | 'maxDurationMs' | 'checkpoint'> {
  const shard = flags.shard ?? env.GCRSYNC_SHARD;
  const maxDuration = flags.maxDuration ?? env.GCRSYNC_MAX_DURATION;
  const checkpoint = flags.checkpointEvery ?? env.GCRSYNC_CHECKPOINT_EVERY;
  return {
    ...(shard !== undefined && { shard: parseShard(shard) }),
    ...(maxDuration !== undefined && { maxDurationMs: parseDuration('max-duration', maxDuration) }),
    ...(checkpoint !== undefined && { checkpoint: parseCheckpoint(checkpoint) }),
  };
}

/** `2/3` → the second of three slices. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw usage(`--shard must be K/N with 1 <= K <= N (e.g. 2/3), got ${JSON.stringify(text)}`);
  }
  return { index, count };
}

/** `50` images, `10m`, or both: `50,10m`. */
export function parseCheckpoint(text: string): { images?: number; intervalMs?: number } {
  const out: { images?: number; intervalMs?: number } = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (/^\d+$/.test(part) && Number(part) > 0) out.images = Number(part);
    else if (/^\d/.test(part) && !/^\d+$/.test(part)) out.intervalMs = parseDuration('checkpoint-every', part);
    else throw usage(`--checkpoint-every takes a number of images and/or a duration (50, 10m, 50,10m), got ${JSON.stringify(text)}`);
  }
  return out;
}

/** `5s`, `2m`, `1h`, `500ms` → milliseconds. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw usage(`--${name} must be a duration like 500ms, 5s, 2m or 1h, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match[1]) * unit);
}
