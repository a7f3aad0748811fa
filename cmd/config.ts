import type { CommandModule } from 'yargs';
import type { JobFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

const validateCommand: CommandModule<object, JobFlags> = {
  command: 'validate',
  describe: 'check the config file and print what each job would do, with example mirror names',
  builder: (yargs) =>
    withHelp(
      withRunFlags(yargs, FLAG_SETS.validate, false),
      [['$0 config validate --config gcrsync.yaml', 'every problem of every job, then what each job would do']],
      'Exit status: 0 valid; 2 the file has problems (each listed with its path and line:column) or names conflict.',
    ),
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
