import type { CommandModule } from 'yargs';
import type { ReaderFlags } from '../src/cli/browse.js';
import { withReaderFlags } from './list.js';
import { withHelp } from './options.js';

export const whereCommand: CommandModule<object, ReaderFlags & { images: string[] }> = {
  command: 'where <images..>',
  describe: 'print the mirror reference of each IMAGE (nginx = docker.io/library/nginx:latest); exit 1 when one is not mirrored',
  builder: (yargs) =>
    withHelp(
      withReaderFlags(yargs).positional('images', { type: 'string', array: true, demandOption: true, describe: 'image references' }),
      [['$0 where registry.k8s.io/pause:3.9 nginx --metadata-repo ../gcr', 'the mirror reference of each']],
      'Exit status: 0 every image is mirrored; 1 one is not; 2 usage error or unreadable metadata repo.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/browse.js')).runWhere(argv);
  },
};
