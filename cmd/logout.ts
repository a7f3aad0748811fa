import type { CommandModule } from 'yargs';

export const logoutCommand: CommandModule<object, { registry: string; authfile?: string }> = {
  command: 'logout <registry>',
  describe: 'remove the stored credentials of REGISTRY from the Docker config (or --authfile)',
  builder: (yargs) =>
    yargs
      .positional('registry', { type: 'string', demandOption: true, describe: 'registry host[:port]' })
      .option('authfile', { type: 'string', describe: 'auth file to edit (default REGISTRY_AUTH_FILE, else the Docker config)' }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/login.js')).runLogout(argv);
  },
};
