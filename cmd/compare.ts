import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

export const compareCommand: CommandModule<object, RawFlags> = {
  command: 'compare',
  describe: 'record in the metadata what the target already holds (nothing is copied), then commit',
  builder: (yargs) =>
    withHelp(withRunFlags(yargs, FLAG_SETS.compare), [
      ['$0 compare --source gcr.io/google-containers --target docker.io/gcrxio --metadata-repo ../gcr', 'record the mirrors the target already has with the source\'s content'],
    ]),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('compare', argv);
  },
};
