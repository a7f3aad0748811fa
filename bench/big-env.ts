/**
 * `node --import tsx bench/big-env.ts`: the bench's big namespace (BENCH_BIG_REPOSITORIES × 25 tags, default
 * 400 × 25, from the bench cache) behind the gcr.io listing front, an empty target and a bare metadata remote,
 * kept running for hands-on work (profiling a first sync, a no-op). Prints a sync command line; Ctrl-C stops it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBigFixture } from './big-case.js';

const scratchDir = await mkdtemp(join(tmpdir(), 'gcrsync-big-env-'));
const fixture = await startBigFixture(scratchDir, (line) => process.stdout.write(`${line}\n`));
const { run } = fixture;
process.stdout.write(
  [
    `source   ${run.source} (${fixture.tags} tags)`,
    `target   ${run.target}`,
    `metadata ${run.metadataRepo}`,
    `node dist/cmd/gcrsync.js sync --source ${run.source} --target ${run.target} --metadata-repo ${run.metadataRepo} --json > /dev/null`,
    '',
  ].join('\n'),
);
process.on('SIGINT', () => {
  void fixture.stop().then(() => process.exit(0));
});
