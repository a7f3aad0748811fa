import type { CpuUsage } from './cpu.js';

/** Turns measurements into the ratios, PASS/FAIL against its targets, and plain-text tables. */
export interface RunMeasurement {
  seconds: number;
  /** bytes the run had to bring to the target ÷ seconds (first runs only) */
  megabytesPerSecond?: number;
  /** the contender's own process (for the docker CLI loop: the biggest docker process); 0 when it runs in the bench */
  peakRssBytes: number;
  /** daemon-based contenders: dockerd's peak while the run lasted */
  daemonPeakRssBytes?: number;
  cpu: CpuUsage;
  /** requests the minimal copier sent */
  requests?: number;
}

export type ContenderKey = 'registry' | 'docker' | 'skopeo' | 'dockerLoop' | 'minimal';

export interface ContenderResult {
  key: ContenderKey;
  label: string;
  command: string;
  first: RunMeasurement;
  /** the rerun with everything already at the target; the minimal copier has none */
  noop?: RunMeasurement;
}

export interface Check {
  name: string;
  value: number;
  /** how the value is written, e.g. `8.4×` or `1.9 s` */
  shown: string;
  target: string;
  pass: boolean;
}

export const MB = 1e6;
/** The memory target for any gcrsync run. */
export const RSS_LIMIT_BYTES = 200 * MB;
const times = (value: number) => `${value.toFixed(2)}×`;

export function ratioChecks(contenders: Partial<Record<ContenderKey, ContenderResult>>, floorSeconds: number, rssLimitBytes: number): Check[] {
  const need = (key: ContenderKey) => {
    const found = contenders[key];
    if (!found) throw new Error(`no ${key} result`);
    return found;
  };
  const registry = need('registry');
  const skopeo = need('skopeo');
  const docker = need('docker');
  const dockerLoop = need('dockerLoop');
  const speedupFirst = skopeo.first.seconds / registry.first.seconds;
  const speedupNoop = skopeo.noop!.seconds / registry.noop!.seconds;
  const overFloor = registry.first.seconds / floorSeconds;
  const dockerVsLoop = docker.first.seconds / dockerLoop.first.seconds;
  const gcrsyncPeak = Math.max(registry.first.peakRssBytes, registry.noop!.peakRssBytes, docker.first.peakRssBytes, docker.noop!.peakRssBytes);
  return [
    { name: 'registry transport vs skopeo sync, first run (speed-up)', value: speedupFirst, shown: times(speedupFirst), target: '≥ 8×', pass: speedupFirst >= 8 },
    { name: 'registry transport vs skopeo sync, no-op rerun (speed-up)', value: speedupNoop, shown: times(speedupNoop), target: '≥ 10×', pass: speedupNoop >= 10 },
    { name: 'registry transport first run ÷ floor', value: overFloor, shown: times(overFloor), target: '≤ 3×', pass: overFloor <= 3 },
    {
      name: 'gcrsync peak RSS (first and no-op, both transports)',
      value: gcrsyncPeak,
      shown: `${(gcrsyncPeak / MB).toFixed(0)} MB`,
      target: `≤ ${rssLimitBytes / MB} MB`,
      pass: gcrsyncPeak <= rssLimitBytes,
    },
    { name: 'docker transport ÷ docker CLI loop, first run', value: dockerVsLoop, shown: times(dockerVsLoop), target: '≤ 1×', pass: dockerVsLoop <= 1 },
  ];
}

/** Context for the checks, not targets: how far each gcrsync transport is from what the machine allows. */
export function contextRatios(contenders: Partial<Record<ContenderKey, ContenderResult>>, floorSeconds: number): Array<{ name: string; shown: string }> {
  const { registry, skopeo, minimal } = contenders;
  const out: Array<{ name: string; shown: string }> = [];
  if (registry && minimal) {
    out.push({ name: 'registry transport ÷ minimal copier (wall)', shown: times(registry.first.seconds / minimal.first.seconds) });
    out.push({ name: 'registry transport ÷ minimal copier (CPU used by all parts)', shown: times(registry.first.cpu.oursSeconds / minimal.first.cpu.oursSeconds) });
    out.push({ name: 'minimal copier ÷ byte floor', shown: times(minimal.first.seconds / floorSeconds) });
  }
  if (registry && skopeo) {
    out.push({ name: 'skopeo ÷ registry transport (CPU used by all parts)', shown: times(skopeo.first.cpu.oursSeconds / registry.first.cpu.oursSeconds) });
  }
  return out;
}

export function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row, index) => {
      const line = row.map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
      return index === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line.trimEnd();
    })
    .join('\n');
}

const mb = (bytes: number | undefined) => (bytes === undefined || bytes === 0 ? '' : (bytes / MB).toFixed(0));
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
const secs = (value: number | undefined) => (value === undefined ? '' : value.toFixed(2));

export function contenderTable(contenders: ContenderResult[]): string {
  const rows = [['contender', 'first s', 'MB/s', 'peak RSS MB', 'no-op s', 'no-op RSS MB', 'dockerd peak MB', 'other load']];
  for (const c of contenders) {
    rows.push([
      c.label,
      secs(c.first.seconds),
      c.first.megabytesPerSecond?.toFixed(1) ?? '',
      mb(c.first.peakRssBytes),
      secs(c.noop?.seconds),
      mb(c.noop?.peakRssBytes),
      c.first.daemonPeakRssBytes !== undefined ? `${mb(c.first.daemonPeakRssBytes)} / ${mb(c.noop?.daemonPeakRssBytes)}` : '',
      c.noop ? `${pct(c.first.cpu.foreignShare)} / ${pct(c.noop.cpu.foreignShare)}` : pct(c.first.cpu.foreignShare),
    ]);
  }
  return table(rows, new Set([1, 2, 3, 4, 5]));
}

/** First-run CPU seconds per part: the evidence for what bounds the wall time. */
export function cpuTable(contenders: ContenderResult[]): string {
  const rows = [['first run, CPU s', 'tool', 'target registry', 'source registry', 'bench (front)', 'dockerd', 'all ours', '÷ CPUs', 'wall']];
  for (const c of contenders) {
    const s = c.first.cpu.seconds;
    rows.push([
      c.label,
      secs(s.tool),
      secs(s.target),
      secs(s.source),
      secs(s.bench),
      secs(s.dockerd),
      secs(c.first.cpu.oursSeconds),
      secs(c.first.cpu.cpuBoundSeconds),
      secs(c.first.seconds),
    ]);
  }
  return table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]));
}

export function checkTable(checks: Check[]): string {
  return table([['check', 'value', 'target', ''], ...checks.map((c) => [c.name, c.shown, c.target, c.pass ? 'PASS' : 'FAIL'])], new Set([1]));
}
