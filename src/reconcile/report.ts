import type { RunReport } from './run-types.js';

/** The human summary printed at the end of every run (stdout); `--json` prints the report itself instead. */
export function formatSummary(report: RunReport): string {
  const lines: string[] = [];
  const count = (status: string) => report.outcomes.filter((o) => o.status === status).length;
  const head = report.dryRun ? `${report.command} (dry run)` : report.command;
  lines.push(`${head} ${report.source} -> ${report.target}`);
  lines.push(`  source tags     ${report.sourceTags}`);
  lines.push(`  up to date      ${report.upToDate}`);
  if (report.otherShards !== undefined) lines.push(`  other shards    ${report.otherShards}`);
  if (report.verified !== undefined) lines.push(`  verified        ${report.verified.checked} at the target, ${report.verified.drifted} gone or different (copied again)`);
  if (report.dryRun) {
    lines.push(`  would copy      ${report.planned.length}`);
    for (const item of report.planned) lines.push(`    ${item.reason.padEnd(14)} ${item.source} -> ${item.target}`);
  } else if (report.command === 'compare') {
    lines.push(`  found at target ${count('already-present')}`);
    lines.push(`  missing at target ${count('missing')}`);
    const differs = report.outcomes.filter((o) => o.status === 'differs');
    lines.push(`  differs at target ${differs.length}${differs.length > 0 ? ' (not recorded: the next sync copies them)' : ''}`);
    for (const o of differs) lines.push(`    ${o.source} -> ${o.target} (${o.targetDigest ?? 'unknown digest'} there)`);
  } else {
    lines.push(`  copied          ${count('synced')}`);
    if (count('already-present') > 0) lines.push(`  already there   ${count('already-present')}`);
    if (count('skipped') > 0) lines.push(`  not started     ${count('skipped')}`);
  }
  if (count('no-platform') > 0) lines.push(`  no matching platform ${count('no-platform')}`);
  const unmirrorable = report.outcomes.filter((o) => o.status === 'not-mirrorable');
  if (unmirrorable.length > 0) {
    lines.push(`  not mirrorable  ${unmirrorable.length}`);
    for (const o of unmirrorable) lines.push(`    ${o.source}: not mirrorable: ${o.notMirrorable ?? 'unknown shape'}`);
  }
  const failed = report.outcomes.filter((o) => o.status === 'failed');
  lines.push(`  failed          ${failed.length}`);
  for (const o of failed) lines.push(`    ${o.source}: ${o.error ?? 'unknown error'}`);
  if (report.problems.length > 0) {
    lines.push(`  problems        ${report.problems.length}`);
    for (const p of report.problems) lines.push(`    ${p.subject}: ${p.error}`);
  }
  if (report.commit) {
    const c = report.commit;
    lines.push(`  metadata        ${c.committed ? `committed ${c.commit?.slice(0, 12) ?? ''}${c.pushed ? ', pushed' : ', not pushed'}` : 'unchanged'}`);
    if (c.error !== undefined) lines.push(`  NOT RECORDED    ${c.error}`);
  }
  return lines.join('\n');
}
