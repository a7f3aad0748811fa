import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { FLAG_SETS, withHelp, withRunFlags } from './options.js';

export const monitorCommand: CommandModule<object, RawFlags & { interval?: string; count?: number }> = {
  command: 'monitor',
  describe: 'print source total / synced / waiting every interval',
  builder: (yargs) =>
    withHelp(
      withRunFlags(yargs, FLAG_SETS.monitor)
        .option('interval', { type: 'string', default: '5s', describe: 'time between reports (500ms, 5s, 1m)' })
        .option('count', { type: 'number', describe: 'stop after this many reports (default: until interrupted)' }),
      [['$0 monitor --config gcrsync.yaml --interval 1m', 'every job\'s total / synced / waiting, once a minute']],
      'Exit status: 0 done or interrupted; 2 usage, configuration, metadata or source error.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runMonitor(argv);
  },
};
