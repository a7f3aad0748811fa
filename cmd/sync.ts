import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

export const syncCommand: CommandModule<object, RawFlags & { verify?: boolean }> = {
  command: 'sync',
  describe: 'copy every missing or moved tag of the source namespace to the target, then commit the metadata',
  builder: (yargs) =>
    withHelp(
      withRunFlags(yargs, FLAG_SETS.sync).option('verify', {
        type: 'boolean',
        describe: 'HEAD every recorded mirror at the target and copy again what is gone or different (default: a rolling seventh per run)',
      }),
      [
        ['$0 sync --source gcr.io/google-containers --target docker.io/gcrxio --metadata-repo ../gcr', 'mirror one namespace'],
        ['$0 sync --job k8s --verify', 'run one job of ./gcrsync.yaml and check every recorded mirror at the target'],
      ],
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runCommand('sync', argv);
  },
};
