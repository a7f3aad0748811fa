import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../support/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run demo` read as a user reads it: stdout and stderr on one terminal, each command's lines in the order it wrote them. */
describe('npm run demo (end to end)', function () {
  this.timeout(300_000);

  it('shows each command\'s log lines before the summary they lead to, and the site command\'s own line', async () => {
    const demo = await runProgram('sh', ['-c', 'exec "$0" --import tsx test/demo.ts 2>&1', process.execPath], { cwd: root, timeoutMs: 280_000 });
    assert.equal(demo.code, 0, demo.stdout);
    const sections = demo.stdout.split(/^==> /m).slice(1);
    const commands = sections.filter((section) => /^gcrsync (test|compare|sync) /.test(section));
    assert.equal(commands.length, 4, demo.stdout);
    let logged = 0;
    for (const section of commands) {
      const lines = section.split('\n');
      const summary = lines.findIndex((line) => /^(test|sync|compare)( \(dry run\))? \S+ -> \S+$/.test(line));
      assert.ok(summary > 0, `a summary line in:\n${section}`);
      const lastLog = lines.findLastIndex((line) => /\bINFO\b/.test(line));
      if (lastLog >= 0) logged += 1;
      assert.ok(lastLog < summary, `the INFO lines come before the summary:\n${section}`);
    }
    assert.ok(logged >= 2, `the syncs log what they do:\n${demo.stdout}`);
    const site = sections.find((section) => section.startsWith('gcrsync site '));
    assert.match(site ?? '', /index\.html: \d+ files, \d+ written, 0 removed, /, 'the site command\'s own summary line');
  });
});
