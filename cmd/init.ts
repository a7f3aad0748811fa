import type { CommandModule } from 'yargs';
import { withHelp } from './options.js';

export const initCommand: CommandModule<object, { dir?: string }> = {
  command: 'init [dir]',
  describe: 'mark a git repository (made when DIR is not in one) as a metadata repo, so gcrsync writes there without --metadata-repo',
  builder: (yargs) =>
    withHelp(
      yargs.positional('dir', { type: 'string', describe: 'directory of the metadata repo (default: the current one)' }),
      [['$0 init ../gcr-metadata', 'create ../gcr-metadata as a metadata repo']],
      'Exit status: 0 done (or already a metadata repo); 2 git failed.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/init.js')).runInit(argv.dir);
  },
};
