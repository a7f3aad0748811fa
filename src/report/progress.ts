import type { ItemOutcome } from '../reconcile/execute.js';
import type { RunReport } from '../reconcile/run-types.js';
import { formatReference } from '../ref/reference.js';
import { describeError } from '../errors.js';
import { redactAll } from '../log.js';
import { type InvocationReport, runsOf } from './types.js';

/**
 * What a run shows while it copies. On a terminal: two live lines (an images bar with counts, rate and ETA; the
 * bytes copied and their rate) redrawn in place, with a line above them for every image that fails. Anywhere
 * else (CI logs): one plain line every `intervalMs` with counts, rate and ETA, never a bar or a control code.
 *
 * The caller feeds it the plan size (`start`) and each image's outcome (`record`), and routes its log lines
 * through `log` so they print above the bars instead of through them.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** default process.stderr: stdout is for results and `--json` */
  stream?: ProgressStream;
  /** draw bars; default: the stream is a terminal */
  tty?: boolean;
  /** time between plain lines when not on a terminal (default 30 s) */
  intervalMs?: number;
  /** time between redraws on a terminal, so rates and ETA move while nothing finishes (default 250 ms) */
  redrawMs?: number;
  now?: () => number;
  /** run the redraw / line timer (default true); tests call `tick()` themselves */
  timers?: boolean;
}

export interface Progress {
  readonly tty: boolean;
  /**
   * Adds images about to be copied. The first call starts the clock and the display; later calls (the next job
   * of a config file) add to the total, so one display covers the whole invocation.
   */
  start(images: number): void;
  record(outcome: ItemOutcome): void;
  /** prints one log line without breaking the bars (use it as the logger's `write`) */
  log(line: string): void;
  /** redraws (terminal) or prints the periodic line when it is due (CI) */
  tick(): void;
  /** final state; stops the timer. Safe to call twice. */
  stop(): void;
}

interface Counts {
  total: number;
  copied: number;
  present: number;
  failed: number;
  skipped: number;
  /** images with none of the wanted platforms */
  unmatched: number;
  bytes: number;
}

function finishedOf(counts: Counts): number {
  return counts.copied + counts.present + counts.failed + counts.skipped + counts.unmatched;
}

const BAR_WIDTH = 24;

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 30_000;
  const counts: Counts = { total: 0, copied: 0, present: 0, failed: 0, skipped: 0, unmatched: 0, bytes: 0 };
  let startedAt = now();
  let lastLineAt = startedAt;
  let drawnLines = 0;
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const done = () => finishedOf(counts);
  const erase = () => {
    if (drawnLines === 0) return;
    stream.write('\x1b[1A\x1b[2K'.repeat(drawnLines));
    drawnLines = 0;
  };
  const draw = () => {
    const lines = renderBars(counts, (now() - startedAt) / 1000, stream.columns);
    stream.write(lines.map((line) => line + '\n').join(''));
    drawnLines = lines.length;
  };
  const printLine = () => {
    lastLineAt = now();
    stream.write(renderPlainLine(counts, (now() - startedAt) / 1000) + '\n');
  };

  const progress: Progress = {
    tty,
    start(images) {
      // a run with nothing to copy shows nothing
      if (images === 0 && !started) return;
      counts.total += images;
      if (started) {
        if (tty) progress.tick();
        else if (images > 0) stream.write(`progress: ${plural(images, 'more image')} to copy, ${counts.total} in all\n`);
        return;
      }
      startedAt = now();
      lastLineAt = startedAt;
      started = true;
      if (tty) draw();
      else stream.write(`progress: ${plural(images, 'image')} to copy\n`);
      if (options.timers !== false) {
        timer = setInterval(() => progress.tick(), tty ? (options.redrawMs ?? 250) : Math.min(intervalMs, 1000));
        timer.unref();
      }
    },
    record(outcome) {
      if (outcome.status === 'synced') counts.copied++;
      else if (outcome.status === 'already-present') counts.present++;
      else if (outcome.status === 'failed') counts.failed++;
      else if (outcome.status === 'no-platform') counts.unmatched++;
      else counts.skipped++;
      counts.bytes += outcome.result?.bytesUploaded ?? 0;
      if (!tty || stopped) return;
      erase();
      if (outcome.status === 'failed') {
        const error = outcome.error === undefined ? 'unknown error' : redactAll(describeError(outcome.error));
        stream.write(`✗ ${formatReference(outcome.item.source)}: ${error}\n`);
      }
      draw();
    },
    log(line) {
      if (!tty || !started || stopped) {
        stream.write(line + '\n');
        return;
      }
      erase();
      stream.write(line + '\n');
      draw();
    },
    tick() {
      if (!started || stopped) return;
      if (tty) {
        erase();
        draw();
      } else if (now() - lastLineAt >= intervalMs) {
        printLine();
      }
    },
    stop() {
      if (stopped) return;
      if (timer !== undefined) clearInterval(timer);
      if (started) {
        if (tty) {
          erase();
          draw();
        } else if (done() > 0) {
          printLine();
        }
      }
      stopped = true;
    },
  };
  return progress;
}

function renderBars(counts: Counts, seconds: number, columns: number | undefined): string[] {
  const finished = finishedOf(counts);
  const fraction = counts.total === 0 ? 1 : Math.min(1, finished / counts.total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const parts = [`images ${bar} ${finished}/${counts.total}`, `${Math.floor(fraction * 100)}%`];
  const detail = [`${counts.copied} copied`];
  if (counts.present > 0) detail.push(`${counts.present} already there`);
  if (counts.failed > 0) detail.push(`${counts.failed} failed`);
  if (counts.skipped > 0) detail.push(`${counts.skipped} not started`);
  if (counts.unmatched > 0) detail.push(`${counts.unmatched} without a matching platform`);
  parts.push(`(${detail.join(', ')})`, `${rate(finished, seconds)}/s`, `ETA ${eta(counts, seconds)}`);
  const lines = [parts.join('  '), `bytes  ${formatBytes(counts.bytes)} copied  ${formatBytes(seconds > 0 ? counts.bytes / seconds : 0)}/s  elapsed ${formatDuration(seconds)}`];
  // a line wider than the terminal wraps, and erasing would then leave its first half behind
  return columns === undefined || columns < 20 ? lines : lines.map((line) => (line.length >= columns ? line.slice(0, columns - 2) + '…' : line));
}

function renderPlainLine(counts: Counts, seconds: number): string {
  const finished = finishedOf(counts);
  return (
    `progress: ${finished}/${counts.total} images (${counts.copied} copied, ${counts.present} already there, ${counts.failed} failed, ` +
    `${counts.skipped} not started${counts.unmatched > 0 ? `, ${counts.unmatched} without a matching platform` : ''}), ${formatBytes(counts.bytes)} copied, ${rate(finished, seconds)} images/s, ` +
    `${formatBytes(seconds > 0 ? counts.bytes / seconds : 0)}/s, elapsed ${formatDuration(seconds)}, ETA ${eta(counts, seconds)}`
  );
}

function rate(finished: number, seconds: number): string {
  return seconds > 0 ? (finished / seconds).toFixed(1) : '0.0';
}

function eta(counts: Counts, seconds: number): string {
  const finished = finishedOf(counts);
  const remaining = counts.total - finished;
  if (remaining <= 0) return '0s';
  if (finished === 0 || seconds <= 0) return '?';
  return formatDuration((remaining * seconds) / finished);
}

/** `0 B`, `512 B`, `1.5 KiB`, `12.3 MiB`, `4.0 GiB` */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `42s`, `3m05s`, `2h07m` */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

type OutcomeStatus = RunReport['outcomes'][number]['status'];

/** A table row: the images of one outcome status, or (no status) a count the run reports without outcomes. */
interface TableRow {
  label: string;
  status?: OutcomeStatus;
  count?: (run: RunReport) => number;
}

const UP_TO_DATE: TableRow = { label: 'up to date', count: (run) => run.upToDate };

/** The rows of a command's table, the same outcomes its summary names, in the same words. */
function tableRows(report: InvocationReport, outcomes: ReadonlyArray<{ status: OutcomeStatus }>): TableRow[] {
  if (report.dryRun) return [UP_TO_DATE, { label: 'would copy', count: (run) => run.planned.length }];
  if (report.command === 'compare') {
    return [
      UP_TO_DATE,
      { label: 'found at target', status: 'already-present' },
      { label: 'missing at target', status: 'missing' },
      { label: 'differs at target', status: 'differs' },
      { label: 'failed', status: 'failed' },
    ];
  }
  const rows: TableRow[] = [
    UP_TO_DATE,
    { label: 'copied', status: 'synced' },
    { label: 'already there', status: 'already-present' },
    { label: 'failed', status: 'failed' },
    { label: 'not started', status: 'skipped' },
  ];
  // rows of their own only when a run met such an image, so the usual table keeps its shape
  if (outcomes.some((outcome) => outcome.status === 'not-mirrorable')) rows.push({ label: 'not mirrorable', status: 'not-mirrorable' });
  if (outcomes.some((outcome) => outcome.status === 'no-platform')) rows.push({ label: 'no matching platform', status: 'no-platform' });
  return rows;
}

/**
 * The table printed at the end of every run: images, bytes and time per outcome (over every job run of the
 * invocation), then every failed image with its error (already redacted in the report) and every job run that
 * could not start.
 */
export function formatRunTable(report: InvocationReport): string {
  const runs = runsOf(report);
  const outcomes = runs.flatMap((run) => run.report?.outcomes ?? []);
  const rows = tableRows(report, outcomes);
  const table: string[][] = [['outcome', 'images', 'bytes', 'image time']];
  let images = 0;
  let bytes = 0;
  let seconds = 0;
  for (const row of rows) {
    const matching = row.status === undefined ? [] : outcomes.filter((outcome) => outcome.status === row.status);
    const count = row.count === undefined ? matching.length : runs.reduce((sum, run) => sum + (run.report === undefined ? 0 : row.count!(run.report)), 0);
    const rowBytes = matching.reduce((sum, outcome) => sum + (outcome.bytes ?? 0), 0);
    const rowSeconds = matching.reduce((sum, outcome) => sum + outcome.seconds, 0);
    images += count;
    bytes += rowBytes;
    seconds += rowSeconds;
    table.push([row.label, String(count), formatBytes(rowBytes), formatDuration(rowSeconds)]);
  }
  table.push(['total', String(images), formatBytes(bytes), formatDuration(seconds)]);
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  const lines = table.map((cells) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd());
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  lines.splice(1, 0, rule);
  lines.splice(lines.length - 1, 0, rule);
  const failed = outcomes.filter((outcome) => outcome.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'failed:');
    for (const outcome of failed) lines.push(`  ${outcome.source} -> ${outcome.target}: ${outcome.error ?? 'unknown error'}`);
  }
  const notRun = runs.filter((run) => run.report === undefined);
  if (notRun.length > 0) {
    lines.push('', 'did not run:');
    for (const run of notRun) lines.push(`  job ${run.job} (${run.source}): ${run.error ?? 'unknown error'}`);
  }
  const stopped = [...new Set(runs.flatMap((run) => (run.report?.stoppedBecause === undefined ? [] : [run.report.stoppedBecause])))];
  for (const reason of stopped) lines.push('', `stopped early: ${reason}`);
  return lines.join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
