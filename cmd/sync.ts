import type { CommandModule } from 'yargs';
import { runCommand } from '../src/cli/app.js';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const syncCommand: CommandModule<object, RawFlags> = {
  command: 'sync',
  describe: 'copy every missing or moved tag of the source namespace to the target, then commit the metadata',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await runCommand('sync', argv);
  },
};
