/** Turns measurements into the ratios, PASS/FAIL against its targets, and a plain-text table. */
export interface RunMeasurement {
  seconds: number;
  /** bytes the run had to bring to the target ÷ seconds (undefined for no-op runs) */
  megabytesPerSecond?: number;
  peakRssBytes: number;
  /** for daemon-based contenders: dockerd's own peak while the run lasted */
  daemonPeakRssBytes?: number;
  /** share of the machine other processes used meanwhile (0..1) */
  foreignCpuShare: number;
}

export interface ContenderResult {
  key: 'registry' | 'docker' | 'skopeo' | 'dockerLoop';
  label: string;
  command: string;
  first: RunMeasurement;
  noop: RunMeasurement;
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

export function ratioChecks(
  contenders: Record<ContenderResult['key'], ContenderResult>,
  floorSeconds: number,
  rssLimitBytes: number,
): Check[] {
  const { registry, skopeo, docker, dockerLoop } = contenders;
  const times = (value: number) => `${value.toFixed(2)}×`;
  const speedupFirst = skopeo.first.seconds / registry.first.seconds;
  const speedupNoop = skopeo.noop.seconds / registry.noop.seconds;
  const overFloor = registry.first.seconds / floorSeconds;
  const dockerVsLoop = docker.first.seconds / dockerLoop.first.seconds;
  const gcrsyncPeak = Math.max(registry.first.peakRssBytes, registry.noop.peakRssBytes, docker.first.peakRssBytes, docker.noop.peakRssBytes);
  return [
    { name: 'registry transport vs skopeo sync, first run (speed-up)', value: speedupFirst, shown: times(speedupFirst), target: '≥ 8×', pass: speedupFirst >= 8 },
    { name: 'registry transport vs skopeo sync, no-op rerun (speed-up)', value: speedupNoop, shown: times(speedupNoop), target: '≥ 10×', pass: speedupNoop >= 10 },
    { name: 'registry transport first run ÷ floor', value: overFloor, shown: times(overFloor), target: '≤ 3×', pass: overFloor <= 3 },
    {
      name: 'gcrsync peak RSS (any run, either transport)',
      value: gcrsyncPeak,
      shown: `${(gcrsyncPeak / MB).toFixed(0)} MB`,
      target: `≤ ${rssLimitBytes / MB} MB`,
      pass: gcrsyncPeak <= rssLimitBytes,
    },
    { name: 'docker transport ÷ docker CLI loop, first run', value: dockerVsLoop, shown: times(dockerVsLoop), target: '≤ 1×', pass: dockerVsLoop <= 1 },
  ];
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row, index) => {
      const line = row.map((cell, column) => pad(cell, widths[column]!, rightAligned.has(column))).join('  ');
      return index === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '' : `${(bytes / MB).toFixed(0)}`);

export function contenderTable(contenders: ContenderResult[]): string {
  const rows = [['contender', 'first s', 'MB/s', 'peak RSS MB', 'dockerd peak MB', 'no-op s', 'no-op RSS MB', 'other load first/no-op']];
  for (const c of contenders) {
    rows.push([
      c.label,
      c.first.seconds.toFixed(2),
      c.first.megabytesPerSecond?.toFixed(1) ?? '',
      mb(c.first.peakRssBytes),
      c.first.daemonPeakRssBytes !== undefined ? `${mb(c.first.daemonPeakRssBytes)} / ${mb(c.noop.daemonPeakRssBytes)}` : '',
      c.noop.seconds.toFixed(2),
      mb(c.noop.peakRssBytes),
      `${(c.first.foreignCpuShare * 100).toFixed(0)}% / ${(c.noop.foreignCpuShare * 100).toFixed(0)}%`,
    ]);
  }
  return table(rows, new Set([1, 2, 3, 5, 6]));
}

export function checkTable(checks: Check[]): string {
  return table([['check', 'value', 'target', ''], ...checks.map((c) => [c.name, c.shown, c.target, c.pass ? 'PASS' : 'FAIL'])], new Set([1]));
}
