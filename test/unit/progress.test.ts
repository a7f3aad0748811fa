import assert from 'node:assert/strict';
import { GcrsyncError } from '../../src/errors.js';
import { createProgress, formatBytes, formatDuration, formatRunTable } from '../../src/report/progress.js';
import type { ItemOutcome } from '../../src/reconcile/execute.js';
import type { RunReport } from '../../src/reconcile/run-types.js';

/** A stream that records what was written, and a clock the test moves. */
function harness(tty: boolean) {
  const chunks: string[] = [];
  let time = 1_000_000;
  const stream = { isTTY: tty, columns: 200, write: (text: string) => chunks.push(text) };
  const progress = createProgress({ stream, now: () => time, intervalMs: 10_000, timers: false });
  return {
    progress,
    advance: (ms: number) => (time += ms),
    output: () => chunks.join(''),
    take: () => chunks.splice(0).join(''),
  };
}

function outcome(n: number, status: ItemOutcome['status'], bytes = 0, error?: Error): ItemOutcome {
  const source = { registry: 'gcr.io', repository: `ns/app${n}`, tag: 'v1' };
  return {
    item: { key: `app${n}`, tag: 'v1', source, target: { registry: 'mirror.example', repository: `m/app${n}`, tag: 'v1' }, sourceName: `gcr.io/ns/app${n}:v1`, targetName: `mirror.example/m/app${n}:v1`, sourceDigest: `sha256:${'a'.repeat(64)}`, reason: 'new' },
    status,
    ...(status === 'synced' && { result: { sourceDigest: `sha256:${'a'.repeat(64)}`, targetDigest: `sha256:${'a'.repeat(64)}`, platforms: ['linux/amd64'], digestPreserved: true, bytesUploaded: bytes, warnings: [] } }),
    ...(error !== undefined && { error }),
    seconds: 1,
  };
}

const ESC = '\x1b[';

describe('progress on a terminal', () => {
  it('draws an images bar and a bytes line, redrawn in place as images finish', () => {
    const { progress, advance, take } = harness(true);
    assert.equal(progress.tty, true);
    progress.start(4);
    const first = take();
    assert.match(first, /^images ░{24} 0\/4  0%  \(0 copied\)  0\.0\/s  ETA \?\nbytes  0 B copied  0 B\/s  elapsed 0s\n$/);
    advance(2000);
    progress.record(outcome(1, 'synced', 3 * 1024 * 1024));
    const second = take();
    // erase the two lines drawn before, then draw again
    assert.ok(second.startsWith(`${ESC}1A${ESC}2K${ESC}1A${ESC}2K`), JSON.stringify(second));
    assert.match(second, /images █{6}░{18} 1\/4  25%  \(1 copied\)  0\.5\/s  ETA 6s\n/);
    assert.match(second, /bytes  3\.0 MiB copied  1\.5 MiB\/s  elapsed 2s\n$/);
  });

  it('prints a line for each failed image above the bars, and log lines too', () => {
    const { progress, advance, take } = harness(true);
    progress.start(3);
    take();
    advance(1000);
    progress.record(outcome(2, 'failed', 0, new GcrsyncError('REGISTRY', 'upload refused')));
    const failed = take();
    const lines = failed.replaceAll(`${ESC}1A${ESC}2K`, '').split('\n');
    assert.equal(lines[0], '✗ gcr.io/ns/app2:v1: REGISTRY: upload refused');
    assert.match(lines[1]!, /^images █{8}░{16} 1\/3  33%  \(0 copied, 1 failed\)/);
    progress.log('WARN something happened');
    const logged = take();
    assert.ok(logged.startsWith(`${ESC}1A${ESC}2K${ESC}1A${ESC}2K` + 'WARN something happened\nimages '), JSON.stringify(logged));
  });

  it('stop leaves the final bars on screen and ignores later events', () => {
    const { progress, advance, take, output } = harness(true);
    progress.start(2);
    advance(1000);
    progress.record(outcome(1, 'synced', 10));
    progress.record(outcome(2, 'already-present'));
    take();
    progress.stop();
    assert.match(take(), /images █{24} 2\/2  100%  \(1 copied, 1 already there\)  2\.0\/s  ETA 0s\n/);
    progress.record(outcome(3, 'synced'));
    progress.stop();
    progress.log('after');
    assert.equal(output(), 'after\n', 'no redraw after stop, logs pass straight through');
  });

  it('cuts lines to the terminal width, so erasing never leaves half a wrapped line', () => {
    const chunks: string[] = [];
    const progress = createProgress({ stream: { isTTY: true, columns: 40, write: (t: string) => chunks.push(t) }, timers: false });
    progress.start(10);
    const lines = chunks.join('').split('\n');
    assert.equal(lines.pop(), '', 'the last line ends with a newline');
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.match(lines[0]!, /^images ░+ 0\/10 .*…$/, 'the images bar is cut, with a mark');
    assert.equal(lines[1], 'bytes  0 B copied  0 B/s  elapsed 0s', 'a line that fits stays whole');
    for (const line of lines) assert.ok(line.length < 40, line);
  });
});

describe('progress in CI (not a terminal)', () => {
  it('prints a plain line every interval with counts, rate and ETA; never a bar or a control code', () => {
    const { progress, advance, take, output } = harness(false);
    assert.equal(progress.tty, false);
    progress.start(10);
    assert.equal(take(), 'progress: 10 images to copy\n');
    advance(4000);
    for (let n = 1; n <= 4; n++) progress.record(outcome(n, n === 4 ? 'failed' : 'synced', 1024 * 1024, n === 4 ? new Error('boom') : undefined));
    progress.tick();
    assert.equal(take(), '', 'nothing before the interval has passed');
    advance(6000);
    progress.tick();
    assert.equal(
      take(),
      'progress: 4/10 images (3 copied, 0 already there, 1 failed, 0 not started), 3.0 MiB copied, 0.4 images/s, 307.2 KiB/s, elapsed 10s, ETA 15s\n',
    );
    advance(3000);
    progress.tick();
    assert.equal(take(), '', 'the next line waits for the next interval');
    advance(7000);
    progress.record(outcome(5, 'skipped'));
    progress.tick();
    assert.match(take(), /^progress: 5\/10 images \(3 copied, 0 already there, 1 failed, 1 not started\).*elapsed 20s, ETA 20s\n$/);
    progress.log('INFO a log line');
    progress.stop();
    assert.match(take(), /^INFO a log line\nprogress: 5\/10 images/);
    assert.doesNotMatch(output(), /\x1b|█|░/);
  });

  it('stays quiet for a run with nothing to copy', () => {
    const { progress, take } = harness(false);
    progress.start(0);
    progress.tick();
    progress.stop();
    assert.equal(take(), '');
  });

  it('adds the next job run\'s images to the same display', () => {
    const { progress, advance, take } = harness(false);
    progress.start(2);
    advance(1000);
    progress.record(outcome(1, 'synced'));
    progress.record(outcome(2, 'synced'));
    progress.start(0);
    progress.start(3);
    assert.equal(take(), 'progress: 2 images to copy\nprogress: 3 more images to copy, 5 in all\n');
    advance(10_000);
    progress.tick();
    assert.match(take(), /^progress: 2\/5 images .* ETA 17s\n$/);
  });
});

describe('progress: end-of-run table and units', () => {
  const report: RunReport = {
    command: 'sync',
    source: 'gcr.io/ns',
    target: 'mirror.example/m',
    metadataFile: 'metadata/gcr.io/ns.json',
    dryRun: false,
    sourceTags: 5,
    upToDate: 1,
    planned: [],
    outcomes: [
      { source: 'gcr.io/ns/a:1', target: 'mirror.example/m/a:1', status: 'synced', digest: 'sha256:1', bytes: 1536, seconds: 2.5 },
      { source: 'gcr.io/ns/b:1', target: 'mirror.example/m/b:1', status: 'synced', digest: 'sha256:2', bytes: 1024 * 1024, seconds: 70 },
      { source: 'gcr.io/ns/c:1', target: 'mirror.example/m/c:1', status: 'failed', digest: 'sha256:3', seconds: 1, error: 'REGISTRY: 500' },
      { source: 'gcr.io/ns/d:1', target: 'mirror.example/m/d:1', status: 'skipped', digest: 'sha256:4', seconds: 0 },
    ],
    problems: [],
    stoppedBecause: '--max-duration reached',
  };

  it('formats outcome rows, a total, the failures and why the run stopped', () => {
    assert.equal(
      formatRunTable(report),
      [
        'outcome        images    bytes  image time',
        '-------------  ------  -------  ----------',
        'up to date          1      0 B          0s',
        'copied              2  1.0 MiB       1m13s',
        'already there       0      0 B          0s',
        'failed              1      0 B          1s',
        'not started         1      0 B          0s',
        '-------------  ------  -------  ----------',
        'total               5  1.0 MiB       1m14s',
        '',
        'failed:',
        '  gcr.io/ns/c:1 -> mirror.example/m/c:1: REGISTRY: 500',
        '',
        'stopped early: --max-duration reached',
      ].join('\n'),
    );
  });

  it('adds a not mirrorable row only when a run met such an image', () => {
    const schema1 = { source: 'gcr.io/ns/old:1', target: 'mirror.example/m/old:1', status: 'not-mirrorable' as const, digest: 'sha256:5', seconds: 0, notMirrorable: 'schema1' };
    const table = formatRunTable({ ...report, outcomes: [...report.outcomes, schema1] });
    assert.match(table, /^not mirrorable {7}1 {6}0 B {10}0s$/m);
    assert.match(table, /^total {16}6 /m, 'the up-to-date row counts too');
    assert.doesNotMatch(formatRunTable(report), /not mirrorable/);
  });

  it('adds up every job run of a config file, and names the runs that did not start', () => {
    const table = formatRunTable({
      command: 'sync',
      dryRun: false,
      runs: [
        { job: 'a', source: 'gcr.io/ns', report },
        { job: 'b', source: 'quay.io/x', report: { ...report, outcomes: [report.outcomes[0]!], stoppedBecause: undefined } },
        { job: 'c', source: 'ghcr.io/y', error: 'SOURCE_UNREACHABLE: 503' },
      ],
    });
    assert.match(table, /^copied {14}3  1\.0 MiB {7}1m15s$/m);
    assert.match(table, /^total {15}7  1\.0 MiB {7}1m16s$/m);
    assert.match(table, /\n\ndid not run:\n  job c \(ghcr\.io\/y\): SOURCE_UNREACHABLE: 503\n/);
  });

  const bytes: Array<[number, string]> = [
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
    [3 * 1024 ** 5, '3072.0 TiB'],
  ];
  for (const [value, text] of bytes) it(`formatBytes(${value}) = ${text}`, () => assert.equal(formatBytes(value), text));
  const durations: Array<[number, string]> = [
    [0, '0s'],
    [59.4, '59s'],
    [65, '1m05s'],
    [3599, '59m59s'],
    [7620, '2h07m'],
  ];
  for (const [value, text] of durations) it(`formatDuration(${value}) = ${text}`, () => assert.equal(formatDuration(value), text));
});
