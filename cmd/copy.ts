import type { CommandModule } from 'yargs';
import type { JobFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

type CopyArgs = JobFlags & { src: string; dst?: string };

export const copyCommand: CommandModule<object, CopyArgs> = {
  command: 'copy <src> [dst]',
  describe: 'copy one image through the naming rules (or to DST exactly) and record it in the metadata',
  builder: (yargs) =>
    withHelp(
      withRunFlags(yargs, FLAG_SETS.copy)
        .positional('src', { type: 'string', demandOption: true, describe: 'source image, e.g. registry.k8s.io/pause:3.9 (tag defaults to latest)' })
        .positional('dst', { type: 'string', describe: 'exact mirror name (default: the naming rules of the job that holds SRC)' }),
      [
        ['$0 copy registry.k8s.io/pause:3.9', 'through the rules of the gcrsync.yaml job that holds it'],
        ['$0 copy quay.io/calico/node:v3.27.0 r.example.com/calico/node:v3.27.0-mirror --metadata-repo ../mirrors', 'to an exact name and tag'],
      ],
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCopy(argv.src, argv.dst, argv);
  },
};
