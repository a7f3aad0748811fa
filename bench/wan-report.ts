import { checkTable, table, type Check } from './report.js';
import { copyRequests, type WanResult, type WanRun } from './wan-case.js';
import { total } from './request-kinds.js';

/** The WAN targets: speed-up over skopeo sync by RTT, and gcrsync's requests next to the minimal copier's. */
const FIRST_RUN_TARGET: Record<number, number> = { 20: 12, 100: 20 };
const NOOP_TARGET: Record<number, number> = { 20: 40 };
export const REQUESTS_RATIO_LIMIT = 1.15;

const times = (value: number) => `${value.toFixed(2)}×`;
const secs = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(2));

export function wanChecks(results: WanResult[]): Check[] {
  const checks: Check[] = [];
  for (const r of results) {
    const first = r.skopeo.first.seconds / r.gcrsync.first.seconds;
    const target = FIRST_RUN_TARGET[r.rttMs];
    if (target !== undefined) {
      checks.push({ name: `${r.rttMs} ms RTT: gcrsync vs skopeo sync, first run`, value: first, shown: times(first), target: `≥ ${target}×`, pass: first >= target });
    }
    const noopTarget = NOOP_TARGET[r.rttMs];
    if (noopTarget !== undefined && r.skopeo.noop) {
      const noop = r.skopeo.noop.seconds / r.gcrsync.noop.seconds;
      checks.push({ name: `${r.rttMs} ms RTT: gcrsync vs skopeo sync, no-op`, value: noop, shown: times(noop), target: `≥ ${noopTarget}×`, pass: noop >= noopTarget });
    }
  }
  const first = results[0];
  if (first) {
    const ratio = copyRequests(first.gcrsync.first) / copyRequests(first.minimal.first);
    checks.push({
      name: 'requests per image, first run: gcrsync ÷ minimal copier',
      value: ratio,
      shown: times(ratio),
      target: `≤ ${REQUESTS_RATIO_LIMIT}×`,
      pass: ratio <= REQUESTS_RATIO_LIMIT,
    });
  }
  return checks;
}

function timesTable(results: WanResult[]): string {
  const rows = [['RTT', 'tags', 'gcrsync first s', 'no-op s', 'skopeo first s', 'no-op s', 'minimal first s', 'first ×', 'no-op ×']];
  for (const r of results) {
    rows.push([
      `${r.rttMs} ms`,
      String(r.tags),
      secs(r.gcrsync.first.seconds),
      secs(r.gcrsync.noop.seconds),
      secs(r.skopeo.first.seconds),
      secs(r.skopeo.noop?.seconds),
      secs(r.minimal.first.seconds),
      times(r.skopeo.first.seconds / r.gcrsync.first.seconds),
      r.skopeo.noop ? times(r.skopeo.noop.seconds / r.gcrsync.noop.seconds) : '–',
    ]);
  }
  return table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]));
}

/** Requests by kind of each first run at the lowest RTT, per image and in all. */
function requestsTable(r: WanResult): string {
  const runs: Array<[string, WanRun]> = [
    ['gcrsync', r.gcrsync.first],
    ['gcrsync no-op', r.gcrsync.noop],
    ['minimal copier', r.minimal.first],
    ['skopeo', r.skopeo.first],
  ];
  const kinds = [...new Set(runs.flatMap(([, run]) => Object.keys(run.requests)))].sort();
  const rows = [['requests, first run', ...runs.map(([name]) => name)]];
  for (const kind of kinds) rows.push([kind, ...runs.map(([, run]) => String(run.requests[kind] ?? 0))]);
  rows.push(['all', ...runs.map(([, run]) => String(total(run.requests)))]);
  rows.push(['copy (all but the source listing)', ...runs.map(([, run]) => String(copyRequests(run)))]);
  rows.push(['copy per tag', ...runs.map(([, run]) => (copyRequests(run) / r.tags).toFixed(2))]);
  return table(rows, new Set(runs.map((_, i) => i + 1)));
}

export function printWan(results: WanResult[], checks: Check[]): string {
  const out = [
    '',
    `WAN: a proxy holds every chunk for RTT/2 each way in front of the source (listing front) and of each fresh target; ` +
      'images of 1 MB base + 256 kB + 64 kB layers, every 4th repository two-platform.',
    ...results.map((r) => `  ${r.rttMs} ms: ${r.repositories} repositories × ${r.tags / r.repositories} tags = ${r.tags} tags, ${r.manifests} manifests, ${r.blobs} blobs`),
    '',
    timesTable(results),
    '',
    ...(results[0] ? [requestsTable(results[0]), ''] : []),
    checkTable(checks),
  ];
  return out.join('\n') + '\n';
}
