import type { Argv, CommandModule } from 'yargs';
import type { ReaderFlags } from '../src/cli/browse.js';
import { withHelp } from './options.js';

/** The flags of every command that only reads the metadata repo (list, where, pull, rewrite, webhook). */
export function withReaderFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('metadata-repo', { type: 'string', describe: 'metadata git repo, path or URL (default: GCRSYNC_METADATA_REPO, else the repo of the current directory)' })
    .option('json', { type: 'boolean', describe: 'print machine-readable JSON on stdout' })
    .option('verbose', { type: 'boolean', describe: 'debug logging' })
    .option('quiet', { type: 'boolean', describe: 'errors only' });
}

export const listCommand: CommandModule<object, ReaderFlags & { query?: string }> = {
  command: 'list [query]',
  describe: 'list mirrored images whose source or mirror name contains QUERY (* matches anything); exit 1 when none',
  builder: (yargs) =>
    withHelp(
      withReaderFlags(yargs).positional('query', { type: 'string', describe: 'e.g. pause, registry.k8s.io/kube-*' }),
      [
        ['$0 list pause --metadata-repo https://github.com/gcrxio/gcr.git', 'every mirrored image whose name contains "pause"'],
        ['$0 list "registry.k8s.io/kube-*" --json', 'as JSON'],
      ],
      'Exit status: 0 something matched; 1 nothing matched; 2 usage error or unreadable metadata repo.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/browse.js')).runList(argv);
  },
};
