import { readdir, readFile } from 'node:fs/promises';

/**
 * How busy the machine was with work that is not the bench's: other people's test suites on a shared 2-core
 * machine slow every contender, and the report says by how much instead of pretending the numbers are clean.
 */
export interface CpuSnapshot {
  /** all CPUs, all states, in clock ticks */
  total: number;
  busy: number;
  /** this process and its live descendants, plus what they reaped (cutime/cstime) */
  ours: number;
}

async function machineTicks(): Promise<{ total: number; busy: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait are the not-busy states
  return { total, busy: total - (fields[3] ?? 0) - (fields[4] ?? 0) };
}

async function processTicks(): Promise<Map<number, { ppid: number; ticks: number }>> {
  const table = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // the command name may contain spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    table.set(Number(entry), { ppid, ticks });
  }
  return table;
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const [machine, table] = await Promise.all([machineTicks(), processTicks()]);
  const ours = new Set<number>([process.pid]);
  // parents precede children often but not always: repeat until the set stops growing
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, { ppid }] of table) {
      if (!ours.has(pid) && ours.has(ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  let oursTicks = 0;
  for (const pid of ours) oursTicks += table.get(pid)?.ticks ?? 0;
  return { ...machine, ours: oursTicks };
}

/** Share of the whole machine (0..1) that processes outside the bench used between two snapshots. */
export function foreignShare(before: CpuSnapshot, after: CpuSnapshot): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  const foreign = after.busy - before.busy - (after.ours - before.ours);
  return Math.min(1, Math.max(0, foreign / total));
}
