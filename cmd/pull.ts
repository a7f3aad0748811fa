import type { CommandModule } from 'yargs';
import type { PullFlags } from '../src/cli/browse.js';
import { withReaderFlags } from './list.js';
import { withHelp } from './options.js';

export const pullCommand: CommandModule<object, PullFlags> = {
  command: 'pull <images..>',
  describe: 'pull the mirror of each IMAGE through the Docker daemon and tag it with the original name',
  builder: (yargs) =>
    withHelp(
      withReaderFlags(yargs)
        .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image references, as manifests name them' })
        .option('print', { type: 'boolean', describe: 'print the commands instead of running them' })
        .option('runtime', { type: 'string', choices: ['docker', 'ctr', 'crictl'], default: 'docker', describe: 'whose commands --print prints' })
        .option('platform', { type: 'string', describe: 'os/arch[/variant] to pull instead of the daemon\'s own' })
        .option('insecure-registry', { type: 'string', array: true, describe: 'mirror host[:port] that speaks plain HTTP (loopback always does): ctr gets --plain-http' }),
      [
        ['$0 pull registry.k8s.io/pause:3.9', 'pull the mirror through the Docker daemon, tagged registry.k8s.io/pause:3.9'],
        ['$0 pull registry.k8s.io/pause:3.9 --print --runtime ctr --platform linux/arm64', 'print the ctr commands instead'],
      ],
      'Exit status: 0 every image pulled (or printed); 1 one is not mirrored or its pull failed; 2 usage error or unreadable metadata repo.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/browse.js')).runPull(argv);
  },
};
