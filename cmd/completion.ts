import yargs, { type CommandModule } from 'yargs';

const SHELLS = ['bash', 'zsh'] as const;

/**
 * Our own command rather than yargs' `.completion()` word, which prints the script for any arguments (even
 * --help) and picks the shell from $SHELL only. yargs still answers `--get-yargs-completions` (registered in
 * gcrsync.ts); the script comes from a fresh yargs made with $SHELL set to the shell asked for, as yargs reads
 * it when it is made.
 */
export const completionCommand: CommandModule<object, { shell?: (typeof SHELLS)[number] }> = {
  command: 'completion [shell]',
  describe: 'print the shell completion script (bash or zsh; default: the one $SHELL names)',
  builder: (y) =>
    y
      .positional('shell', { choices: SHELLS, describe: 'the shell the script is for' })
      .example('$0 completion >> ~/.bashrc', 'complete gcrsync commands and flags in bash')
      .example('$0 completion zsh >> ~/.zshrc', 'the same in zsh'),
  handler: (argv) => {
    const shell = argv.shell ?? (/zsh/.test(process.env.SHELL ?? '') ? 'zsh' : 'bash');
    process.env.SHELL = `/bin/${shell}`;
    delete process.env.ZSH_NAME;
    yargs().scriptName('gcrsync').completion('completion', false).showCompletionScript();
  },
};
