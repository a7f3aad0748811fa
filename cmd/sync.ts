import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const syncCommand: CommandModule<object, RawFlags> = {
  command: 'sync',
  describe: 'copy every missing or moved tag of the source namespace to the target, then commit the metadata',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('sync', argv);
  },
};
