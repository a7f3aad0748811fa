import { resolve } from 'node:path';
import { describeError, GcrsyncError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import { type Logger, redactAll, redactedJsonPieces, registerSecret } from '../log.js';
import { type InvocationReport, runsOf } from './types.js';
import { writeFileAtomic } from '../store/json-file.js';

/**
 * Where a finished run's report goes besides stdout: `--report FILE` keeps the JSON report, `--notify URL`
 * posts a summary to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's `/slack`
 * endpoint). A notification that cannot be delivered is reported, never a reason to fail the run.
 */
export type NotifyWhen = 'failure' | 'always';

/** Writes the report as indented JSON, atomically (a reader never sees half a report), in pieces as --json prints it. */
export async function saveReport(file: string, report: InvocationReport, signal: AbortSignal): Promise<void> {
  await writeFileAtomic(resolve(file), reportText(report), signal);
}

function* reportText(report: InvocationReport): Generator<string, void, undefined> {
  yield* redactedJsonPieces(report);
  yield '\n';
}

/**
 * Checks a `--notify` value up front (exit 2 before anything runs). The URL's path usually is the secret
 * (`/services/T…/B…/…`), so it is registered for masking and never shown.
 */
export function parseNotifyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GcrsyncError('USAGE', '--notify must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GcrsyncError('USAGE', '--notify must be an http(s) URL');
  registerSecret(text);
  registerSecret(url.pathname + url.search);
  return url;
}

export function parseNotifyWhen(text: string | undefined): NotifyWhen {
  if (text === undefined || text === 'failure') return 'failure';
  if (text === 'always') return 'always';
  throw new GcrsyncError('USAGE', `--notify-on must be failure or always, got ${JSON.stringify(text)}`);
}

/** An invocation "failed" when an image failed, something could not be listed or planned, or a job run could not start. */
export function runFailed(report: InvocationReport): boolean {
  return runsOf(report).some(
    (run) =>
      run.error !== undefined ||
      (run.report !== undefined &&
        (run.report.outcomes.some((outcome) => outcome.status === 'failed') || run.report.problems.length > 0 || run.report.commit?.error !== undefined)),
  );
}

const MAX_LISTED = 10;

/** The Slack message: a headline, then per run its counts, failures (ten at most in all) and metadata commit. Pure. */
export function slackMessage(report: InvocationReport): { text: string } {
  const runs = runsOf(report);
  const icon = runFailed(report) ? ':x:' : ':white_check_mark:';
  const dryRun = report.dryRun ? ' (dry run)' : '';
  const lines: string[] = [];
  if (runs.length === 1 && runs[0]!.report !== undefined && runs[0]!.job === '') {
    const only = runs[0]!.report;
    lines.push(`${icon} *gcrsync ${report.command}${dryRun}* \`${only.source}\` → \`${only.target}\``);
  } else {
    lines.push(`${icon} *gcrsync ${report.command}${dryRun}*: ${runs.length} job run${runs.length === 1 ? '' : 's'}`);
  }
  let listed = 0;
  let unlisted = 0;
  const item = (line: string) => {
    if (listed < MAX_LISTED) {
      lines.push(line);
      listed++;
    } else {
      unlisted++;
    }
  };
  for (const run of runs) {
    const prefix = run.job === '' ? '' : `*${run.job}* \`${run.source}\`: `;
    if (run.report === undefined) {
      lines.push(`${prefix}did not run: ${run.error ?? 'unknown error'}`);
      continue;
    }
    const r = run.report;
    const count = (status: string) => r.outcomes.filter((outcome) => outcome.status === status).length;
    lines.push(
      `${prefix}${count('synced')} copied, ${count('already-present')} already there, ${count('failed')} failed, ${count('skipped')} not started` +
        (count('not-mirrorable') > 0 ? `, ${count('not-mirrorable')} not mirrorable` : '') +
        (count('no-platform') > 0 ? `, ${count('no-platform')} without a matching platform` : '') +
        ` (${r.sourceTags} source tags, ${r.upToDate} up to date)`,
    );
    for (const outcome of r.outcomes) if (outcome.status === 'failed') item(`• \`${outcome.source}\`: ${outcome.error ?? 'unknown error'}`);
    for (const problem of r.problems) item(`• not listed: \`${problem.subject}\`: ${problem.error}`);
    if (r.stoppedBecause !== undefined) lines.push(`stopped early: ${r.stoppedBecause}`);
    if (r.commit?.error !== undefined) lines.push(`metadata NOT recorded: ${r.commit.error}`);
    if (r.commit?.committed) lines.push(`metadata: ${r.commit.commit?.slice(0, 12) ?? 'committed'}${r.commit.pushed ? ', pushed' : ', not pushed'}`);
  }
  if (unlisted > 0) lines.push(`…and ${unlisted} more`);
  // redacted before escaping: an escaped `<` or `&` inside a secret would no longer match it
  return { text: lines.map((line) => escapeSlack(redactAll(line))).join('\n') };
}

export interface NotifyResult {
  sent: boolean;
  /** why nothing was sent (`when` is failure and the run succeeded) */
  skippedBecause?: string;
  /** delivery failed (already redacted) */
  error?: string;
}

/**
 * Posts `slackMessage(report)` to `url` when `when` says so. Goes through gcrsync's HTTP client (retries 5xx and
 * 429 with backoff; https unless loopback). Never throws: the result says what happened.
 */
export async function sendNotification(
  http: Pick<HttpClient, 'request'>,
  url: URL,
  report: InvocationReport,
  options: { when: NotifyWhen; signal: AbortSignal },
): Promise<NotifyResult> {
  if (options.when === 'failure' && !runFailed(report)) return { sent: false, skippedBecause: 'the run did not fail' };
  // the HTTP client's errors name the URL, whose path is the webhook's secret
  registerSecret(url.href);
  registerSecret(url.pathname + url.search);
  try {
    const response = await http.request(
      { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(slackMessage(report)), followRedirects: false },
      options.signal,
    );
    await response.discard();
    if (response.status < 200 || response.status > 299) {
      return { sent: false, error: `the notification webhook at ${url.host} answered HTTP ${response.status}` };
    }
    return { sent: true };
  } catch (error) {
    return { sent: false, error: redactAll(`the notification webhook at ${url.host} could not be reached: ${describeError(error)}`) };
  }
}

export interface DeliveryOptions {
  /** `--report FILE` */
  reportFile?: string;
  /** `--notify URL` and `--notify-on` */
  notify?: { url: URL; when: NotifyWhen };
  http: Pick<HttpClient, 'request'>;
  logger: Logger;
  signal: AbortSignal;
}

export interface DeliveryResult {
  /** undefined when no file was asked for */
  saved?: boolean;
  notified?: NotifyResult;
}

/**
 * Everything that happens to a finished run's report besides printing it: keep it in `reportFile`, then post the
 * notification. Failures are logged (error for the file, warning for the webhook) and returned, never thrown,
 * so the caller decides whether they change the exit status.
 */
export async function deliverReport(report: InvocationReport, options: DeliveryOptions): Promise<DeliveryResult> {
  const result: DeliveryResult = {};
  if (options.reportFile !== undefined) {
    try {
      await saveReport(options.reportFile, report, options.signal);
      result.saved = true;
    } catch (error) {
      result.saved = false;
      options.logger.error(`could not write the report to ${options.reportFile}`, { error: redactAll(describeError(error)) });
    }
  }
  if (options.notify !== undefined) {
    result.notified = await sendNotification(options.http, options.notify.url, report, {
      when: options.notify.when,
      signal: options.signal,
    });
    if (result.notified.error !== undefined) options.logger.warn(result.notified.error);
  }
  return result;
}

/** Slack's mrkdwn needs `&`, `<` and `>` escaped, or `<…>` would become a link. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `--report FILE`, `--notify URL` and `--notify-on`, checked before the run so a bad value changes nothing (exit 2). */
export function resolveDelivery(flags: { report?: string; notify?: string; notifyOn?: string }, env: Record<string, string | undefined>): Pick<DeliveryOptions, 'reportFile' | 'notify'> {
  const reportFile = flags.report ?? env.GCRSYNC_REPORT;
  const notifyUrl = flags.notify ?? env.GCRSYNC_NOTIFY;
  const when = parseNotifyWhen(flags.notifyOn ?? env.GCRSYNC_NOTIFY_ON);
  return {
    ...(reportFile !== undefined && reportFile !== '' && { reportFile }),
    ...(notifyUrl !== undefined && notifyUrl !== '' && { notify: { url: parseNotifyUrl(notifyUrl), when } }),
  };
}
