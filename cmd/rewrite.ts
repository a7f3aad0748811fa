import type { CommandModule } from 'yargs';
import type { RewriteFlags } from '../src/cli/kube.js';
import { withReaderFlags } from './list.js';
import { withHelp } from './options.js';

export const rewriteCommand: CommandModule<object, Omit<RewriteFlags, 'file'> & { file?: string }> = {
  command: 'rewrite [file]',
  describe: 'rewrite mirrored images in Kubernetes YAML or Helm values (FILE, or - / nothing for stdin) to their mirror names',
  builder: (yargs) =>
    withHelp(
      withReaderFlags(yargs)
        .positional('file', { type: 'string', describe: 'YAML file; - or nothing reads stdin' })
        .option('check', { type: 'boolean', describe: 'print no YAML; list the images that are not mirrored and exit 1 if any' })
        .option('in-place', { type: 'boolean', describe: 'write the result back into FILE' }),
      [
        ['helm template ./chart | $0 rewrite - | kubectl apply -f -', 'deploy with every mirrored image pointed at its mirror'],
        ['$0 rewrite values.yaml --check', 'list the images that are not mirrored'],
      ],
      'Exit status: 0 done; 1 --check found images that are not mirrored; 2 usage error, unreadable YAML or metadata repo.',
    ),
  handler: async (argv) => {
    // yargs-parser hands a lone `-` over as ''; no file is called that
    const file = argv.file === undefined || argv.file === '' ? '-' : argv.file;
    process.exitCode = await (await import('../src/cli/kube.js')).runRewrite({ ...argv, file });
  },
};
