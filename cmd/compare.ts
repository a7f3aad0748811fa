import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const compareCommand: CommandModule<object, RawFlags> = {
  command: 'compare',
  describe: 'record in the metadata what the target already holds (nothing is copied), then commit',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('compare', argv);
  },
};
