import type { CommandModule } from 'yargs';
import { runCommand } from '../src/cli/app.js';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const testCommand: CommandModule<object, RawFlags> = {
  command: 'test',
  describe: 'dry run of sync: print what would be copied (kept for gcrsync users)',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await runCommand('sync', { ...argv, dryRun: true });
  },
};
