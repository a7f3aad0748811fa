import type { CommandModule } from 'yargs';
import type { PullFlags } from '../src/cli/browse.js';
import { withReaderFlags } from './list.js';

export const pullCommand: CommandModule<object, PullFlags> = {
  command: 'pull <images..>',
  describe: 'pull the mirror of each IMAGE through the Docker daemon and tag it with the original name',
  builder: (yargs) =>
    withReaderFlags(yargs)
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image references, as manifests name them' })
      .option('print', { type: 'boolean', describe: 'print the commands instead of running them' })
      .option('runtime', { type: 'string', choices: ['docker', 'ctr', 'crictl'], default: 'docker', describe: 'whose commands --print prints' })
      .option('platform', { type: 'string', describe: 'os/arch[/variant] to pull instead of the daemon\'s own' }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/browse.js')).runPull(argv);
  },
};
