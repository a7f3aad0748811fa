import PQueue from 'p-queue';
import { describeError, UNINTERRUPTED } from '../errors.js';
import { targetReference } from '../ref/naming.js';
import type { Listing } from '../sources/source.js';
import { renderChangelogSection, type ChangelogEntry } from '../store/changelog.js';
import { metadataFileFor } from '../store/target-file.js';
import { applyUpdates, type NamespaceMetadata, type TagRecord } from '../store/schema.js';
import type { CopyResult } from '../transports/transport.js';
import { executePlan, type ItemOutcome } from './execute.js';
import { dockerCopyPlatforms, verifyMirrors } from './verify.js';
import type { EarlyStart, RunDeps, RunReport, RunSettings } from './run-types.js';
import { digestTagsByImage, planSync, type Plan, type PlanItem, type PlanReason } from './plan.js';
import { digestTagSubject } from '../ref/digest-tags.js';
import { isSchema1 } from '../registry/media-types.js';

export function locationName(registry: string, path: string): string {
  return path === '' ? registry : `${registry}/${path}`;
}

function emptyReport(command: RunReport['command'], settings: RunSettings, metadataFile: string): RunReport {
  return {
    command,
    source: locationName(settings.source.registry, settings.source.namespace),
    target: locationName(settings.target.registry, settings.target.path),
    metadataFile,
    dryRun: settings.dryRun,
    sourceTags: 0,
    upToDate: 0,
    planned: [],
    outcomes: [],
    problems: [],
  };
}

interface ListedSource {
  metadata?: NamespaceMetadata;
  /** the images, tag filters applied */
  listing: Listing;
  /** digest tags (signatures, referrers fallback) by image: they follow their image whatever the filters say */
  digestTags: Map<string, string[]>;
}

/** Reads the namespace file and lists the source: the two things that must work before anything is changed. */
async function readAndList(deps: RunDeps, settings: RunSettings, report: RunReport, early?: EarlyStart): Promise<ListedSource> {
  const metadata = early !== undefined ? early.metadata : await deps.metadata.read(report.metadataFile, settings.signal);
  const listed = await deps.listSource(settings.source, settings.signal);
  const images = listed.tags.filter((found) => digestTagSubject(found.tag) === undefined);
  const digestTags = digestTagsByImage(listed.tags);
  const listing = { ...listed, tags: settings.selectTags === undefined ? images : settings.selectTags(images) };
  report.sourceTags = listing.tags.length;
  for (const problem of listing.problems) {
    deps.logger.warn(`not listed: ${problem.subject}`, { error: describeError(problem.error) });
    report.problems.push({ subject: problem.subject, error: describeError(problem.error) });
  }
  return { ...(metadata !== undefined && { metadata }), listing, digestTags };
}

/** The run's metadata file: the namespace's file for this run's target (see store/layout.ts). */
function runMetadataFile(deps: RunDeps, settings: RunSettings): Promise<string> {
  return metadataFileFor(deps.metadata, settings.source, locationName(settings.target.registry, settings.target.path), settings.signal);
}

/** What sync and compare both start with: the report, the metadata and the listing read, and the plan. */
async function prepareRun(command: RunReport['command'], deps: RunDeps, settings: RunSettings): Promise<{ report: RunReport; plan: Plan }> {
  const early = await deps.early;
  try {
    const report = emptyReport(command, settings, early?.metadataFile ?? (await runMetadataFile(deps, settings)));
    const listed = await readAndList(deps, settings, report, early);
    const plan = planFor(settings, listed);
    if (command === 'sync') {
      if (early === undefined) await verifyMirrors(deps, settings, plan, report);
      else await verifyMirrors({ ...deps, digestAtTarget: early.drift.digestAt }, settings, plan, report, early.drift.share);
    }
    recordPlanProblems(plan, deps, report, settings);
    return { report, plan };
  } finally {
    early?.drift.discard();
  }
}

function planFor(settings: RunSettings, { listing, metadata, digestTags }: ListedSource): Plan {
  const name = settings.name ?? ((key: string, tag: string) => targetReference(settings.target, key, tag));
  return planSync(listing.tags, metadata, settings.source, name, {
    digestTags,
    ...(settings.shard !== undefined && { shard: settings.shard }),
    ...(settings.schema1 !== undefined && { schema1: settings.schema1 }),
    ...(settings.platforms !== undefined && { platforms: settings.platforms }),
  });
}

/** Tags the listing says are schema1, which `schema1: skip` records without a request. */
function knownSchema1(items: readonly PlanItem[], settings: RunSettings): PlanItem[] {
  return settings.schema1 === 'convert' ? [] : items.filter((item) => isSchema1(item.sourceMediaType));
}

function recordPlanProblems(plan: Plan, deps: RunDeps, report: RunReport, settings: RunSettings): void {
  report.upToDate = plan.upToDate;
  if (settings.shard !== undefined) report.otherShards = plan.otherShards;
  const unmirrorable = new Set(knownSchema1(plan.items, settings));
  report.planned = plan.items.map((item) => ({
    source: item.sourceName,
    target: item.targetName,
    digest: item.sourceDigest,
    // a dry run shows what the run will do with it
    reason: unmirrorable.has(item) ? 'not-mirrorable' : item.reason,
  }));
  for (const problem of plan.problems) {
    deps.logger.warn(`not planned: ${problem.subject}`, { error: describeError(problem.error) });
    report.problems.push({ subject: problem.subject, error: describeError(problem.error) });
  }
}

interface RecordToCommit {
  item: PlanItem;
  record: TagRecord;
  /** listed in the CHANGELOG (copied now), as opposed to found already there */
  logged: boolean;
}

function outcomeLine(outcome: ItemOutcome): RunReport['outcomes'][number] {
  return {
    source: outcome.item.sourceName,
    target: outcome.item.targetName,
    status: outcome.status,
    digest: copiedDigest(outcome),
    ...(outcome.targetDigest !== undefined && { targetDigest: sameString(outcome.targetDigest, outcome.item.sourceDigest) }),
    ...(outcome.result !== undefined && outcome.status === 'synced' && { platforms: outcome.result.platforms, bytes: outcome.result.bytesUploaded }),
    ...(outcome.result?.notMirrorable !== undefined && { notMirrorable: outcome.result.notMirrorable }),
    ...(outcome.result?.converted !== undefined && { converted: outcome.result.converted }),
    ...(outcome.result?.signatures !== undefined && { signatures: outcome.result.signatures }),
    ...(outcome.result?.referrers !== undefined && { referrers: outcome.result.referrers }),
    seconds: outcome.seconds,
    ...(outcome.error !== undefined && { error: describeError(outcome.error) }),
  };
}

/** The source digest the image was copied at: the tag may have moved after the listing saw `item.sourceDigest`. */
function copiedDigest(outcome: Pick<ItemOutcome, 'item' | 'result'>): string {
  return sameString(outcome.result?.sourceDigest ?? outcome.item.sourceDigest, outcome.item.sourceDigest);
}

/**
 * `text`, as the `known` string when they are equal: a digest read from a registry answer is a string of its own,
 * and the outcome line and the record of every tag of a big namespace would each keep one.
 */
function sameString(text: string, known: string): string {
  return text === known ? known : text;
}

function recordFor(item: PlanItem, digest: string, syncedAt: string, targetDigest: string, platformFilter: readonly string[] | undefined, result?: Partial<CopyResult>): TagRecord {
  const platforms = result?.platforms;
  return {
    digest,
    target: item.targetName,
    syncedAt,
    ...(platforms !== undefined && platforms.length > 0 && { platforms }),
    ...(targetDigest !== digest && { targetDigest }),
    ...(result?.converted !== undefined && { converted: result.converted }),
    ...(result?.signatures !== undefined && { signatures: result.signatures }),
    ...(result?.referrers !== undefined && { referrers: result.referrers }),
    ...(platformFilter !== undefined && platformFilter.length > 0 && { platformFilter: [...platformFilter] }),
  };
}

function notMirrorableResult(digest: string, shape: 'schema1'): CopyResult {
  return { sourceDigest: digest, targetDigest: '', platforms: [], digestPreserved: false, bytesUploaded: 0, warnings: [], notMirrorable: shape };
}

/** A tag no registry stores as it is: recorded with its digest, so it is not tried again until it moves. */
function notMirrorableRecord(digest: string, syncedAt: string, shape: 'schema1'): TagRecord {
  return { digest, target: '', syncedAt, skipped: shape };
}

const CHANGELOG_KIND: Record<PlanReason, ChangelogEntry['kind']> = {
  new: 'new',
  'digest-changed': 'updated',
  unverified: 'updated',
  'signatures-changed': 'updated',
  retargeted: 'retargeted',
  drifted: 'repaired',
};

/**
 * Commits the verified records and a CHANGELOG section; nothing verified means no commit. A commit that fails
 * is reported in `report.commit.error` instead of thrown: images were copied, so the run still reports them.
 * Returns false when it failed, so the caller can offer the records to the next checkpoint.
 */
async function commitRecords(
  deps: RunDeps,
  report: RunReport,
  records: readonly RecordToCommit[],
): Promise<boolean> {
  try {
    await commitOrThrow(deps, report, records);
    if (report.commit?.error !== undefined) delete report.commit.error;
    return true;
  } catch (error) {
    const message = describeError(error);
    deps.logger.error(`${report.source}: the metadata could not be recorded; the copied images stay at the target`, { error: message });
    report.commit = { ...(report.commit ?? { committed: false, pushed: false, commits: 0 }), error: message };
    return false;
  }
}

async function commitOrThrow(
  deps: RunDeps,
  report: RunReport,
  records: readonly RecordToCommit[],
): Promise<void> {
  report.commit ??= { committed: false, pushed: false, commits: 0 };
  if (records.length === 0) return;
  const header = { source: report.source, target: report.target };
  const updates = records.map(({ item, record }) => ({ repository: item.key, tag: item.tag, record }));
  const logged = records.filter((r) => r.logged);
  const entries = logged.map(({ item }) => ({
    source: item.sourceName,
    target: item.targetName,
    kind: CHANGELOG_KIND[item.reason],
  }));
  const counted = (kind: ChangelogEntry['kind']) => entries.filter((e) => e.kind === kind).length;
  const verb = report.command === 'compare' ? 'compare' : 'sync';
  const extra = (['retargeted', 'repaired'] as const).map((kind) => (counted(kind) > 0 ? `, ${counted(kind)} ${kind}` : '')).join('');
  const message = `${verb} ${report.source}: ${counted('new')} new, ${counted('updated')} updated${extra}, ${records.length} recorded`;
  const section =
    entries.length > 0 ? renderChangelogSection({ time: (deps.now ?? (() => new Date()))(), title: `${report.source} → ${report.target}`, entries }) : undefined;
  // what the run verified is committed even when it is being interrupted
  const result = await deps.metadata.commit({
    signal: UNINTERRUPTED,
    changes: [{ file: report.metadataFile, update: (current) => applyUpdates(current, header, updates) }],
    ...(section !== undefined && { changelogSection: section }),
    message,
  });
  if (result.committed) {
    report.commit = {
      committed: true,
      ...(result.commit !== undefined && { commit: result.commit }),
      pushed: result.pushed,
      commits: report.commit.commits + 1,
    };
  }
}

/** A run that never got to its plan (the deadline passed while listing): nothing changed, and why. */
export function stoppedRun(command: RunReport['command'], deps: Pick<RunDeps, 'logger' | 'metadata'>, settings: RunSettings, reason: string): RunReport {
  const report = emptyReport(command, settings, deps.metadata.metadataFile(settings.source.registry, settings.source.namespace));
  deps.logger.warn(`${report.source}: nothing started: ${reason}`);
  return { ...report, stoppedBecause: reason };
}

/** The daily job: list, diff against the metadata, copy what is missing or moved, record only what is verified. */
export async function runSync(deps: RunDeps, settings: RunSettings): Promise<RunReport> {
  // the deadline counts from the start of the run: reading the metadata and listing use it up too
  const startedAt = Date.now();
  // the plan's items only: the listing and the up-to-date records are not kept while the images are copied
  const { report, plan: { upToDate, items } } = await prepareRun('sync', deps, settings);
  deps.logger.info(`${report.source}: ${report.sourceTags} tags, ${upToDate} up to date, ${items.length} to copy`);
  if (settings.dryRun || items.length === 0) return report;
  settings.observer?.planned(items.length);

  const now = deps.now ?? (() => new Date());
  const deadline = settings.maxDurationMs === undefined ? undefined : startedAt + settings.maxDurationMs;
  const pending: RecordToCommit[] = [];
  let lastCheckpoint = Date.now();
  // Checkpoints run one at a time, in the order images finished.
  let committing: Promise<void> = Promise.resolve();
  const checkpointDue = () =>
    (settings.checkpoint?.images !== undefined && pending.length >= settings.checkpoint.images) ||
    (settings.checkpoint?.intervalMs !== undefined && Date.now() - lastCheckpoint >= settings.checkpoint.intervalMs);
  const flush = () => {
    const batch = pending.splice(0);
    lastCheckpoint = Date.now();
    committing = committing.then(async () => {
      // a failed checkpoint's records go again with the next one (updates are applied by content)
      if (!(await commitRecords(deps, report, batch))) pending.unshift(...batch);
    });
    return committing;
  };
  const onOutcome = async (outcome: ItemOutcome) => {
    settings.observer?.outcome(outcome);
    report.outcomes.push(outcomeLine(outcome));
    if (outcome.status === 'skipped' && outcome.skippedBecause !== undefined) report.stoppedBecause ??= outcome.skippedBecause;
    if (outcome.status === 'not-mirrorable') {
      pending.push({ item: outcome.item, record: notMirrorableRecord(copiedDigest(outcome), now().toISOString(), outcome.result?.notMirrorable ?? 'schema1'), logged: false });
      if (checkpointDue()) await flush();
    } else if (outcome.targetDigest !== undefined && (outcome.status === 'synced' || outcome.status === 'already-present')) {
      pending.push({
        item: outcome.item,
        record: recordFor(outcome.item, copiedDigest(outcome), now().toISOString(), sameString(outcome.targetDigest, outcome.item.sourceDigest), settings.platforms, outcome.result),
        logged: outcome.status === 'synced',
      });
      if (checkpointDue()) await flush();
    }
  };
  const stopReason = (item: PlanItem) => {
    if (deadline !== undefined && Date.now() >= deadline) return `--max-duration reached`;
    return settings.stopReason?.(item);
  };
  // the listing already says which tags are schema1: with `skip` they are recorded without a request
  const unmirrorable = knownSchema1(items, settings);
  for (const item of unmirrorable) {
    deps.logger.info(`not mirrorable: ${item.sourceName} is a Docker schema1 image`);
    await onOutcome({ item, status: 'not-mirrorable', result: notMirrorableResult(item.sourceDigest, 'schema1'), seconds: 0 });
  }
  const toCopy = unmirrorable.length === 0 ? items : items.filter((item) => !unmirrorable.includes(item));
  if (toCopy.length === 0) {
    await flush();
    return report;
  }
  const transport = await deps.createTransport();
  try {
    await executePlan(
      toCopy,
      { transport, headTarget: deps.headTarget, logger: deps.logger, ...(settings.hooks !== undefined && { hooks: settings.hooks }) },
      { concurrency: settings.concurrency, stopReason, onOutcome, signal: settings.signal },
    );
  } finally {
    await transport.close();
    // Whatever was verified is committed, even when the run is being torn down by an error or an interrupt.
    await flush();
  }
  return report;
}

/**
 * Bootstraps the metadata from what the target already holds: every due source tag whose mirror name answers a
 * manifest HEAD at the target is recorded (nothing is copied), so the next sync copies only what is missing.
 */
export async function runCompare(deps: RunDeps, settings: RunSettings): Promise<RunReport> {
  const { report, plan } = await prepareRun('compare', deps, settings);
  const queue = new PQueue({ concurrency: settings.queryLimit });
  const syncedAt = (deps.now ?? (() => new Date()))().toISOString();
  const records: RecordToCommit[] = [];
  await Promise.all(
    plan.items.map((item) =>
      queue.add(async () => {
        const started = Date.now();
        const repo = { registry: item.target.registry, repository: item.target.repository };
        const seconds = () => (Date.now() - started) / 1000;
        try {
          const present = await deps.headTarget(repo, item.target.tag ?? item.tag, settings.signal);
          if (present === undefined) {
            report.outcomes.push(outcomeLine({ item, status: 'missing', seconds: seconds() }));
            return;
          }
          const platforms = present.digest === item.sourceDigest ? [] : await dockerCopyPlatforms(deps, settings, item);
          if (present.digest !== item.sourceDigest && platforms.length === 0) {
            // never adopted: the next sync copies the source over it
            deps.logger.warn(`${item.targetName} differs at the target from ${item.sourceName}; not recorded`, { digest: present.digest });
            report.outcomes.push(outcomeLine({ item, status: 'differs', targetDigest: present.digest, seconds: seconds() }));
            return;
          }
          report.outcomes.push(outcomeLine({ item, status: 'already-present', targetDigest: present.digest, seconds: seconds() }));
          records.push({ item, record: recordFor(item, item.sourceDigest, syncedAt, present.digest, settings.platforms, { platforms }), logged: false });
        } catch (error) {
          report.outcomes.push(outcomeLine({ item, status: 'failed', error: error as Error, seconds: seconds() }));
        }
      }),
    ),
  );
  if (!settings.dryRun) await commitRecords(deps, report, records);
  return report;
}

export interface MirrorStatus {
  source: string;
  total: number;
  synced: number;
  waiting: number;
}

/** Source total / synced / waiting, as `monitor` prints it. */
export async function readStatus(deps: RunDeps, settings: RunSettings): Promise<MirrorStatus> {
  const report = emptyReport('sync', settings, await runMetadataFile(deps, settings));
  const listed = await readAndList(deps, settings, report);
  const plan = planFor(settings, listed);
  return { source: report.source, total: listed.listing.tags.length, synced: plan.upToDate, waiting: plan.items.length };
}

/** Exit status of a finished run: 1 when any image failed, could not be listed or could not be recorded, else 0. */
export function runExitCode(report: RunReport): number {
  return report.outcomes.some((o) => o.status === 'failed') || report.problems.length > 0 || report.commit?.error !== undefined ? 1 : 0;
}

