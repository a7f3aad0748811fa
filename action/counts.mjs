// The action's count outputs, as `name=value` lines, from a gcrsync report file (one run, or one per job).
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const runs = 'runs' in report ? report.runs.flatMap((run) => (run.report ? [run.report] : [])) : [report];
const jobErrors = 'runs' in report ? report.runs.filter((run) => run.error !== undefined).length : 0;
const outcomes = runs.flatMap((run) => run.outcomes);
const count = (status) => outcomes.filter((outcome) => outcome.status === status).length;
const sum = (field) => runs.reduce((total, run) => total + run[field], 0);
const counts = {
  'source-tags': sum('sourceTags'),
  'up-to-date': sum('upToDate'),
  synced: count('synced'),
  failed: count('failed'),
  // repositories or namespaces that could not be listed, and job runs that could not start
  problems: runs.reduce((total, run) => total + run.problems.length, 0) + jobErrors,
};
for (const [name, value] of Object.entries(counts)) console.log(`${name}=${value}`);
