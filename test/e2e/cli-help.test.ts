import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';

/** Flags listed by `--help` (the `--name` at the start of each option line). */
function flagsOf(help: string): string[] {
  return [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!);
}

/** Each command's --help: only the flags it uses, examples and the exit statuses; typos get a suggestion. */
describe('gcrsync --help and typos (CLI)', function () {
  this.timeout(60_000);

  const cases: Array<{ command: string[]; has: string[]; lacks: string[] }> = [
    { command: ['sync'], has: ['--concurrency', '--max-duration', '--checkpoint-every', '--verify', '--notify', '--dry-run'], lacks: ['--interval', '--count'] },
    { command: ['test'], has: ['--source', '--target', '--shard'], lacks: ['--dry-run', '--concurrency', '--max-duration', '--checkpoint-every', '--notify', '--verify', '--transport'] },
    { command: ['compare'], has: ['--source', '--target', '--query-limit'], lacks: ['--concurrency', '--max-duration', '--checkpoint-every', '--verify'] },
    { command: ['monitor'], has: ['--interval', '--count', '--source'], lacks: ['--concurrency', '--dry-run', '--shard', '--max-duration', '--report', '--notify', '--username', '--transport'] },
    { command: ['copy'], has: ['--target', '--metadata-repo', '--transport'], lacks: ['--source', '--namespace', '--shard', '--concurrency', '--max-duration', '--checkpoint-every'] },
    { command: ['config', 'validate'], has: ['--config', '--job'], lacks: ['--source', '--target', '--concurrency', '--dry-run', '--username'] },
    { command: ['pull'], has: ['--print', '--runtime', '--platform', '--insecure-registry'], lacks: ['--concurrency', '--target'] },
    { command: ['list'], has: ['--metadata-repo', '--json'], lacks: ['--target', '--concurrency'] },
  ];
  for (const { command, has, lacks } of cases) {
    it(`${command.join(' ')} --help lists its own flags, examples and exit statuses`, async () => {
      const result = await runCli([...command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      const flags = flagsOf(result.stdout);
      for (const flag of has) assert.ok(flags.includes(flag), `${command.join(' ')} lists ${flag}:\n${result.stdout}`);
      for (const flag of lacks) assert.ok(!flags.includes(flag), `${command.join(' ')} does not list ${flag}:\n${result.stdout}`);
      assert.match(result.stdout, /^Examples:\n {2}gcrsync /m);
      assert.match(result.stdout, /Exit status: 0 /);
    });
  }

  it('a flag a command does not take is refused (exit 2)', async () => {
    const result = await runCli(['monitor', '--concurrency', '3', '--source', 'gcr.io/x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown argument: concurrency/);
  });

  it('a typo\'d command suggests the nearest one (exit 2)', async () => {
    const result = await runCli(['synk']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Did you mean sync\?/);
    const other = await runCli(['comapre']);
    assert.match(other.stderr, /Did you mean compare\?/);
  });
});
