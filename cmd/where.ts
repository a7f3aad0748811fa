import type { CommandModule } from 'yargs';
import type { ReaderFlags } from '../src/cli/browse.js';
import { withReaderFlags } from './list.js';

export const whereCommand: CommandModule<object, ReaderFlags & { images: string[] }> = {
  command: 'where <images..>',
  describe: 'print the mirror reference of each IMAGE (nginx = docker.io/library/nginx:latest); exit 1 when one is not mirrored',
  builder: (yargs) => withReaderFlags(yargs).positional('images', { type: 'string', array: true, demandOption: true, describe: 'image references' }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/browse.js')).runWhere(argv);
  },
};
