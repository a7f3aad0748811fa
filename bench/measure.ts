import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { track } from '../test/support/processes.js';
import { call, sha256 } from './registry-api.js';

export const TIME_BINARY = '/usr/bin/time';

export interface Measured {
  seconds: number;
  /** peak resident set of the process (GNU time's %M), in bytes */
  peakRssBytes: number;
  /** user + system CPU of the process and the children it waited for (GNU time's %U + %S) */
  cpuSeconds: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** where GNU time writes its report (one file per run) */
  scratchDir: string;
}

let runs = 0;

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Runs a command under GNU time and measures wall-clock seconds around it here (GNU time's own %e has only
 * centisecond resolution). The child is tracked, so stopAll() kills it if the bench dies half-way.
 */
export async function measure(command: string, args: string[], options: RunOptions): Promise<Measured> {
  const report = join(options.scratchDir, `time-${process.pid}-${runs++}.txt`);
  const started = performance.now();
  const child = spawn(TIME_BINARY, ['-f', '%M %U %S', '-o', report, command, ...args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const untrack = track({
    name: `${command} ${args.slice(0, 2).join(' ')}`,
    stop: async () => void child.kill('SIGKILL'),
    kill: () => child.kill('SIGKILL'),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve(status ?? -1));
  }).finally(() => {
    clearTimeout(timer);
    untrack();
  });
  const seconds = (performance.now() - started) / 1000;
  const text = await readFile(report, 'utf8').catch(() => '');
  await rm(report, { force: true });
  // GNU time appends "Command exited with non-zero status N" before the format line
  const [kb, user, system] = (text.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  const known = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? value : 0);
  return { seconds, peakRssBytes: known(kb) * 1024, cpuSeconds: known(user) + known(system), code, stdout, stderr };
}

/** Resets a process's peak RSS (VmHWM) so the next read covers only what follows (Linux ≥ 4.0, needs root). */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return Number.isFinite(kb) ? kb * 1024 : 0;
}

export interface UploadRate {
  bytes: number;
  /** each attempt's PUT time */
  seconds: number[];
  /** bytes per second of the fastest attempt: the most demanding floor */
  bytesPerSecond: number;
}

/**
 * The target registry's single-stream upload rate: a random blob PUT monolithically (one request, one
 * connection), timed from the PUT to the 201. Each attempt uses a new blob so nothing is deduplicated.
 */
export async function singleStreamUploadRate(registryUrl: string, bytes = 64 << 20, attempts = 3): Promise<UploadRate> {
  const seconds: number[] = [];
  for (let i = 0; i < attempts; i++) {
    const blob = randomBytes(bytes);
    const digest = sha256(blob);
    const start = await call('POST', `${registryUrl}/v2/floor/probe/blobs/uploads/`, {}, Buffer.alloc(0));
    if (start.status !== 202) throw new Error(`floor probe: upload start answered ${start.status}`);
    const location = new URL(String(start.headers.location), registryUrl);
    location.searchParams.set('digest', digest);
    const began = performance.now();
    const put = await call('PUT', location, { 'content-type': 'application/octet-stream' }, blob);
    const elapsed = (performance.now() - began) / 1000;
    if (put.status !== 201) throw new Error(`floor probe: PUT answered ${put.status} ${put.body.toString('utf8').slice(0, 200)}`);
    seconds.push(elapsed);
  }
  return { bytes, seconds, bytesPerSecond: bytes / Math.min(...seconds) };
}
