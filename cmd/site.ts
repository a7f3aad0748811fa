import type { CommandModule } from 'yargs';
import type { SiteFlags } from '../src/cli/site.js';
import { withReaderFlags } from './list.js';

export const siteCommand: CommandModule<object, SiteFlags> = {
  command: 'site',
  describe: 'generate the static, searchable catalog of the mirror (what every sync commits under site/)',
  builder: (yargs) =>
    withReaderFlags(yargs).option('out', {
      type: 'string',
      describe: "directory to write (default: site/ in the current directory's metadata repo, else ./site beside a cloned --metadata-repo)",
    }),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/site.js')).runSite(argv);
  },
};
