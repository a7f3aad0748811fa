import { resolve } from 'node:path';
import { describeError, GcrsyncError } from './errors.js';
import type { HttpClient } from './http/client.js';
import { type Logger, redactAll, registerSecret } from './log.js';
import type { RunReport } from './reconcile/run.js';
import { writeFileAtomic } from './store/json-file.js';

/**
 * Where a finished run's report goes besides stdout: `--report FILE` keeps the JSON report, `--notify URL`
 * posts a summary to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's `/slack`
 * endpoint). A notification that cannot be delivered is reported, never a reason to fail the run.
 */
export type NotifyWhen = 'failure' | 'always';

/** Writes the report as indented JSON, atomically (a reader never sees half a report). */
export async function saveReport(file: string, report: RunReport, signal?: AbortSignal): Promise<void> {
  await writeFileAtomic(resolve(file), JSON.stringify(report, null, 2) + '\n', signal);
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

/** A run "failed" for notification purposes when an image failed or something could not be listed or planned. */
export function runFailed(report: RunReport): boolean {
  return report.outcomes.some((outcome) => outcome.status === 'failed') || report.problems.length > 0;
}

const MAX_LISTED = 10;

/** The Slack message: one headline, the counts, up to ten failures, the metadata commit. Pure. */
export function slackMessage(report: RunReport): { text: string } {
  const count = (status: string) => report.outcomes.filter((outcome) => outcome.status === status).length;
  const failed = report.outcomes.filter((outcome) => outcome.status === 'failed');
  const icon = runFailed(report) ? ':x:' : ':white_check_mark:';
  const lines = [
    `${icon} *gcrsync ${report.command}${report.dryRun ? ' (dry run)' : ''}* \`${report.source}\` → \`${report.target}\``,
    `${count('synced')} copied, ${count('already-present')} already there, ${failed.length} failed, ${count('skipped')} not started` +
      ` (${report.sourceTags} source tags, ${report.upToDate} up to date)`,
  ];
  for (const outcome of failed.slice(0, MAX_LISTED)) lines.push(`• \`${outcome.source}\`: ${outcome.error ?? 'unknown error'}`);
  if (failed.length > MAX_LISTED) lines.push(`…and ${failed.length - MAX_LISTED} more failed`);
  for (const problem of report.problems.slice(0, MAX_LISTED)) lines.push(`• not listed: \`${problem.subject}\`: ${problem.error}`);
  if (report.problems.length > MAX_LISTED) lines.push(`…and ${report.problems.length - MAX_LISTED} more listing problems`);
  if (report.stoppedBecause !== undefined) lines.push(`stopped early: ${report.stoppedBecause}`);
  if (report.commit?.committed) lines.push(`metadata: ${report.commit.commit?.slice(0, 12) ?? 'committed'}${report.commit.pushed ? ', pushed' : ', not pushed'}`);
  return { text: redactAll(lines.map(escapeSlack).join('\n')) };
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
  report: RunReport,
  options: { when: NotifyWhen; signal?: AbortSignal },
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
  signal?: AbortSignal;
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
export async function deliverReport(report: RunReport, options: DeliveryOptions): Promise<DeliveryResult> {
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
      ...(options.signal !== undefined && { signal: options.signal }),
    });
    if (result.notified.error !== undefined) options.logger.warn(result.notified.error);
  }
  return result;
}

/** Slack's mrkdwn needs `&`, `<` and `>` escaped, or `<…>` would become a link. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
