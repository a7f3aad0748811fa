import type { CommandModule } from 'yargs';
import type { RewriteFlags } from '../src/cli/kube.js';
import { withReaderFlags } from './list.js';

export const rewriteCommand: CommandModule<object, Omit<RewriteFlags, 'file'> & { file?: string }> = {
  command: 'rewrite [file]',
  describe: 'rewrite mirrored images in Kubernetes YAML or Helm values (FILE, or - / nothing for stdin) to their mirror names',
  builder: (yargs) =>
    withReaderFlags(yargs)
      .positional('file', { type: 'string', describe: 'YAML file; - or nothing reads stdin' })
      .option('check', { type: 'boolean', describe: 'print no YAML; list the images that are not mirrored and exit 1 if any' })
      .option('in-place', { type: 'boolean', describe: 'write the result back into FILE' }),
  handler: async (argv) => {
    // yargs-parser hands a lone `-` over as ''; no file is called that
    const file = argv.file === undefined || argv.file === '' ? '-' : argv.file;
    process.exitCode = await (await import('../src/cli/kube.js')).runRewrite({ ...argv, file });
  },
};
