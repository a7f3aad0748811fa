import { GCRSYNC_ENTRY, cleanEnv } from './contenders.js';
import { measure, median } from './measure.js';
import type { Check } from './report.js';

/**
 * Start-up: what `gcrsync --version` costs in CPU next to a bare `node -e 0` on the same machine. Each command loads
 * its modules only when it runs, so the version, the help and the readers (list, where) stay cheap. Median of a few
 * runs: one run is a few tens of milliseconds, easily bent by a busy neighbour.
 */
export const VERSION_CPU_LIMIT_SECONDS = 0.25;
const RUNS = 7;

export interface StartupResult {
  bareNodeCpuSeconds: number;
  versionCpuSeconds: number;
  helpCpuSeconds: number;
  /** --version ÷ bare node */
  ratio: number;
}

async function medianCpu(scratchDir: string, args: string[]): Promise<number> {
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await measure(process.execPath, args, { scratchDir, env: cleanEnv(scratchDir) });
    if (run.code !== 0) throw new Error(`node ${args.join(' ')} exited ${run.code}: ${run.stderr.slice(-1000)}`);
    cpu.push(run.cpuSeconds);
  }
  return median(cpu);
}

export async function runStartupCase(scratchDir: string): Promise<StartupResult> {
  const bareNodeCpuSeconds = await medianCpu(scratchDir, ['-e', '0']);
  const versionCpuSeconds = await medianCpu(scratchDir, [GCRSYNC_ENTRY, '--version']);
  const helpCpuSeconds = await medianCpu(scratchDir, [GCRSYNC_ENTRY, 'sync', '--help']);
  return { bareNodeCpuSeconds, versionCpuSeconds, helpCpuSeconds, ratio: versionCpuSeconds / Math.max(bareNodeCpuSeconds, 0.01) };
}

export function startupChecks(result: StartupResult): Check[] {
  return [
    {
      name: `gcrsync --version, CPU (median of ${RUNS}; ${result.ratio.toFixed(1)}× node -e 0 at ${result.bareNodeCpuSeconds.toFixed(2)} s)`,
      value: result.versionCpuSeconds,
      shown: `${result.versionCpuSeconds.toFixed(2)} s`,
      target: `≤ ${VERSION_CPU_LIMIT_SECONDS} s`,
      pass: result.versionCpuSeconds <= VERSION_CPU_LIMIT_SECONDS,
    },
  ];
}

export function printStartup(result: StartupResult, checks: Check[], checkTable: (checks: Check[]) => string): string {
  return [
    '',
    `start-up, CPU seconds (median of ${RUNS}): node -e 0 ${result.bareNodeCpuSeconds.toFixed(2)}, gcrsync --version ${result.versionCpuSeconds.toFixed(2)} ` +
      `(${result.ratio.toFixed(1)}×), gcrsync sync --help ${result.helpCpuSeconds.toFixed(2)}`,
    '',
    checkTable(checks),
    '',
  ].join('\n');
}
