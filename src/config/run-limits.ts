import { GcrsyncError } from '../errors.js';

/**
 * The command-line values that limit a run: `--shard`, `--max-duration`, `--checkpoint-every`, `--max-tags`,
 * `--max-repositories` (and durations in general).
 */

function usage(message: string): GcrsyncError {
  return new GcrsyncError('USAGE', message);
}

export interface RunLimits {
  /** `--shard K/N`: only the K-th (1-based) of N stable slices of the namespace's repositories */
  shard?: { index: number; count: number };
  /** `--max-duration`: start no image after this long; finish, commit and exit 0 */
  maxDurationMs?: number;
  /** `--checkpoint-every 50,10m`: commit progress every N images and/or every interval */
  checkpoint?: { images?: number; intervalMs?: number };
  /** `--max-tags`, `--max-repositories`: how far one listing may grow before it is cut off as hostile */
  listingLimits?: { maxTags?: number; maxRepositories?: number };
}

type RunLimitFlags = { shard?: string; maxDuration?: string; checkpointEvery?: string; maxTags?: string; maxRepositories?: string };

/** The run limits from flags, else GCRSYNC_SHARD / GCRSYNC_MAX_DURATION / GCRSYNC_CHECKPOINT_EVERY / GCRSYNC_MAX_TAGS / GCRSYNC_MAX_REPOSITORIES. */
export function runLimits(flags: RunLimitFlags, env: Record<string, string | undefined>): RunLimits {
  const shard = flags.shard ?? env.GCRSYNC_SHARD;
  const maxDuration = flags.maxDuration ?? env.GCRSYNC_MAX_DURATION;
  const checkpoint = flags.checkpointEvery ?? env.GCRSYNC_CHECKPOINT_EVERY;
  const maxTags = flags.maxTags ?? env.GCRSYNC_MAX_TAGS;
  const maxRepositories = flags.maxRepositories ?? env.GCRSYNC_MAX_REPOSITORIES;
  const listingLimits = {
    ...(maxTags !== undefined && { maxTags: parseCount('max-tags', maxTags) }),
    ...(maxRepositories !== undefined && { maxRepositories: parseCount('max-repositories', maxRepositories) }),
  };
  return {
    ...(shard !== undefined && { shard: parseShard(shard) }),
    ...(maxDuration !== undefined && { maxDurationMs: parseDuration('max-duration', maxDuration) }),
    ...(checkpoint !== undefined && { checkpoint: parseCheckpoint(checkpoint) }),
    ...(Object.keys(listingLimits).length > 0 && { listingLimits }),
  };
}

/** A limit given on the command line or in the environment: a whole number of at least 1. */
function parseCount(name: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw usage(`--${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
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

