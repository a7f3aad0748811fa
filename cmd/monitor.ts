import type { CommandModule } from 'yargs';
import type { RawFlags } from '../src/config/settings.js';
import { withRunFlags } from './options.js';

export const monitorCommand: CommandModule<object, RawFlags & { interval?: string; count?: number }> = {
  command: 'monitor',
  describe: 'print source total / synced / waiting every interval',
  builder: (yargs) =>
    withRunFlags(yargs)
      .option('interval', { type: 'string', default: '5s', describe: 'time between reports (500ms, 5s, 1m)' })
      .option('count', { type: 'number', describe: 'stop after this many reports (default: until interrupted)' }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/app.js')).runMonitor(argv);
  },
};
