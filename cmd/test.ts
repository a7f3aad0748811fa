import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const testCommand: CommandModule<object, RawFlags> = {
  command: 'test',
  describe: 'dry run of sync: print what would be copied (kept for gcrsync users)',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('sync', { ...argv, dryRun: true });
  },
};
