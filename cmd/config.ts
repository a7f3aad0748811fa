import type { CommandModule } from 'yargs';
import type { JobFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

const validateCommand: CommandModule<object, JobFlags> = {
  command: 'validate',
  describe: 'check the config file and print what each job would do, with example mirror names',
  builder: (yargs) => withRunFlags(yargs),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runConfigValidate(argv);
  },
};

export const configCommand: CommandModule = {
  command: 'config <command>',
  describe: 'work with the config file (gcrsync.yaml)',
  builder: (yargs) => yargs.command(validateCommand).demandCommand(1, 'name a config command: validate'),
  handler: () => undefined,
};
