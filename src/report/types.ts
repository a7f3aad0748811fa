import type { RunReport } from '../reconcile/run-types.js';

/** One source namespace of one job: its run's report, or the error that kept the run from starting. */
export interface JobRunEntry {
  job: string;
  source: string;
  report?: RunReport;
  error?: string;
}

/** Every run of a config file's jobs (or of the flags' job), under the job's name. */
export interface JobsReport {
  command: RunReport['command'];
  configFile?: string;
  dryRun: boolean;
  runs: JobRunEntry[];
}

/**
 * What a command invocation produced (printed with --json, kept with --report, posted with --notify): one run's
 * report, or one entry per job run.
 */
export type InvocationReport = RunReport | JobsReport;

/** Every run of an invocation, a single run being its own list. */
export function runsOf(report: InvocationReport): readonly JobRunEntry[] {
  return 'runs' in report ? report.runs : [{ job: '', source: report.source, report }];
}
