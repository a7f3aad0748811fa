import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

export const testCommand: CommandModule<object, RawFlags> = {
  command: 'test',
  describe: 'dry run of sync: print what would be copied (kept for gcrsync users)',
  builder: (yargs) =>
    withHelp(
      withRunFlags(yargs, FLAG_SETS.test),
      [['$0 test --source gcr.io/google-containers --target docker.io/gcrxio --metadata-repo ../gcr', 'print what sync would copy']],
      'Exit status: 0 the plan was printed; 1 some images could not be listed; 2 usage, configuration, metadata or source error.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('sync', { ...argv, dryRun: true });
  },
};
