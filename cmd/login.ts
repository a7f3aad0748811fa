import type { CommandModule } from 'yargs';
import type { LoginFlags } from '../src/cli/login.js';
import { withNetworkFlags } from './options.js';

export const loginCommand: CommandModule<object, LoginFlags> = {
  command: 'login <registry>',
  describe: 'check USER and password against REGISTRY, then store them in the Docker config (or --authfile), as docker login does',
  builder: (yargs) =>
    withNetworkFlags(yargs)
      .positional('registry', { type: 'string', demandOption: true, describe: 'registry host[:port]' })
      .option('username', { alias: 'u', type: 'string', describe: 'user name (or GCRSYNC_USERNAME)' })
      .option('password-stdin', { type: 'boolean', describe: 'read the password from stdin (or GCRSYNC_PASSWORD)' })
      .option('verbose', { type: 'boolean', describe: 'debug logging' }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/login.js')).runLogin(argv);
  },
};
