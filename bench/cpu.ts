import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';

/**
 * Where the CPU went during a run. On a 2-core machine that also hosts the source registry, the listing front and
 * the target registry, a run is CPU-bound long before it is byte-bound: the report shows each part's share, and
 * how much other people's processes (test suites on a shared machine) took, instead of pretending the clock is clean.
 */
interface ProcessTicks {
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of the children it reaped */
  ticks: number;
}

export interface CpuSnapshot {
  /** all CPUs, all states, in clock ticks */
  total: number;
  busy: number;
  processes: Map<number, ProcessTicks>;
  /** process.cpuUsage() of the bench itself (the listing front and the minimal copier run in it), µs */
  benchMicros: number;
}

export interface CpuUsage {
  /** CPU seconds per role: the contender, each registry, dockerd and its children, the bench process */
  seconds: Record<string, number>;
  /** everything the bench and its children used, in CPU seconds */
  oursSeconds: number;
  /** share of the whole machine (0..1) that processes outside the bench used */
  foreignShare: number;
  /** wall seconds the run needs at the least, were it alone on the machine and purely CPU-bound: ours ÷ CPUs */
  cpuBoundSeconds: number;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

async function machineTicks(): Promise<{ total: number; busy: number; cpus: number }> {
  const lines = (await readFile('/proc/stat', 'utf8')).split('\n');
  const fields = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait are the not-busy states
  return { total, busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), cpus: lines.filter((l) => /^cpu\d/.test(l)).length };
}

async function processTable(): Promise<Map<number, ProcessTicks>> {
  const table = new Map<number, ProcessTicks>();
  await Promise.all(
    (await readdir('/proc'))
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
        if (stat === undefined) return;
        // the command name may contain spaces and parentheses: fields start after the last ')'
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        table.set(Number(entry), {
          ppid: Number(fields[1]),
          ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
        });
      }),
  );
  return table;
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const [machine, processes] = await Promise.all([machineTicks(), processTable()]);
  const usage = process.cpuUsage();
  return { total: machine.total, busy: machine.busy, processes, benchMicros: usage.user + usage.system };
}

function tree(processes: Map<number, ProcessTicks>, root: number): Set<number> {
  const members = new Set<number>([root]);
  // parents often precede children in the table, but not always: repeat until the set stops growing
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, { ppid }] of processes) {
      if (!members.has(pid) && members.has(ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return members;
}

function treeTicks(snapshot: CpuSnapshot, root: number): number {
  let ticks = 0;
  for (const pid of tree(snapshot.processes, root)) ticks += snapshot.processes.get(pid)?.ticks ?? 0;
  return ticks;
}

/**
 * CPU used between two snapshots. `roles` names long-lived processes (a registry, dockerd) whose whole process
 * tree is charged to that role; `measured` adds roles measured elsewhere (the contender's own CPU from GNU time).
 */
export function cpuUsage(before: CpuSnapshot, after: CpuSnapshot, roles: Record<string, number>, measured: Record<string, number> = {}): CpuUsage {
  const seconds: Record<string, number> = { ...measured };
  for (const [role, pid] of Object.entries(roles)) seconds[role] = (treeTicks(after, pid) - treeTicks(before, pid)) / TICKS_PER_SECOND;
  seconds.bench = (after.benchMicros - before.benchMicros) / 1e6;
  const total = after.total - before.total;
  const ours = treeTicks(after, process.pid) - treeTicks(before, process.pid);
  const foreign = after.busy - before.busy - ours;
  return {
    seconds,
    oursSeconds: ours / TICKS_PER_SECOND,
    foreignShare: total > 0 ? Math.min(1, Math.max(0, foreign / total)) : 0,
    cpuBoundSeconds: ours / TICKS_PER_SECOND / Math.max(1, cpus().length),
  };
}

/** The pid of the running process whose command line contains `needle` (a registry's config path). */
export async function pidWithArgument(needle: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(needle)) return Number(entry);
  }
  throw new Error(`no running process has the argument ${needle}`);
}
