import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, runProgram } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { toolPath } from '../support/tools.js';

const entry = fileURLToPath(new URL('../../dist/cmd/gcrsync.js', import.meta.url));

/**
 * `gcrsync completion` as a user installs it: the script is sourced by the real shell, which then asks
 * `gcrsync --get-yargs-completions` (found on PATH, like an installed command) for the words at the cursor.
 */
describe('gcrsync completion (bash and zsh)', function () {
  this.timeout(120_000);
  let bin: string;
  // yargs answers in the format of $SHELL, as it is in the user's session
  const env = (shell: string) => ({ PATH: `${bin}:${process.env.PATH ?? ''}`, SHELL: shell });

  before(async () => {
    bin = await tempDir('completion-bin');
    await writeFile(join(bin, 'gcrsync'), `#!/bin/sh\nexec '${process.execPath}' '${entry}' "$@"\n`);
    await chmod(join(bin, 'gcrsync'), 0o755);
  });
  after(() => rm(bin, { recursive: true, force: true }));

  async function script(shell: string): Promise<string> {
    const generated = await runCli(['completion'], { env: { SHELL: shell } });
    assert.equal(generated.code, 0, generated.stderr);
    const file = join(bin, `completion.${shell.split('/').pop()}`);
    await writeFile(file, generated.stdout);
    return file;
  }

  /** What bash offers for the command line `words` with the cursor at the end of the last word. */
  async function bashComplete(file: string, words: string[]): Promise<string[]> {
    const line = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`;
    const run = await runProgram('bash', ['-c', `source '${file}'; ${line}; _gcrsync_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`], { env: env('/bin/bash') });
    assert.equal(run.code, 0, run.stderr);
    return run.stdout.split('\n').filter((w) => w !== '');
  }

  it('bash: completes command names and the flags of a command', async () => {
    const file = await script('/bin/bash');
    assert.match(await readFile(file, 'utf8'), /complete -o bashdefault -o default -F _gcrsync_yargs_completions gcrsync/);
    assert.deepEqual(await bashComplete(file, ['gcrsync', 'sy']), ['sync']);
    assert.deepEqual((await bashComplete(file, ['gcrsync', 'co'])).sort(), ['compare', 'completion', 'config', 'copy']);
    assert.deepEqual(await bashComplete(file, ['gcrsync', 'sync', '--tra']), ['--transport']);
  });

  it('zsh: completes command names, with their descriptions', async () => {
    const file = await script('/bin/zsh');
    // the completion system's entry points, reduced to printing what they are handed
    const stubs = `compdef() { :; }; _describe() { print -rl -- "\${(@P)2}"; }; _default() { print DEFAULT; }`;
    const line = `words=(gcrsync co); CURRENT=2; BUFFER='gcrsync co'; CURSOR=\${#BUFFER}`;
    const run = await runProgram(toolPath('zsh'), ['-f', '-c', `${stubs}; source '${file}'; ${line}; _gcrsync_yargs_completions`], { env: env('/bin/zsh') });
    assert.equal(run.code, 0, run.stderr);
    const offered = run.stdout.split('\n').filter((l) => l !== '');
    const names = offered.map((l) => l.split(':')[0]);
    for (const command of ['sync', 'compare', 'copy', 'config', 'completion', 'webhook']) assert.ok(names.includes(command), `${command} in ${names.join(' ')}`);
    assert.ok(offered.some((l) => /^sync:.*copy every missing or moved tag/.test(l)), offered.join('\n'));
  });

  it('completion takes the shell as an argument, over $SHELL, and --help prints help', async () => {
    const zsh = await runCli(['completion', 'zsh'], { env: { SHELL: '/bin/bash' } });
    assert.equal(zsh.code, 0, zsh.stderr);
    assert.match(zsh.stdout, /compdef _gcrsync_yargs_completions gcrsync/);
    const bash = await runCli(['completion', 'bash'], { env: { SHELL: '/bin/zsh' } });
    assert.equal(bash.code, 0, bash.stderr);
    assert.match(bash.stdout, /complete -o bashdefault -o default -F _gcrsync_yargs_completions gcrsync/);
    const help = await runCli(['completion', '--help'], { env: { SHELL: '/bin/bash' } });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /gcrsync completion \[shell\]/);
    assert.match(help.stdout, /choices: "bash", "zsh"/);
    assert.doesNotMatch(help.stdout, /_gcrsync_yargs_completions/);
    const fish = await runCli(['completion', 'fish'], { env: { SHELL: '/bin/bash' } });
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /Invalid values/);
  });
});
