import type { CommandModule } from 'yargs';
import type { WebhookFlags } from '../src/cli/kube.js';
import { withReaderFlags } from './list.js';
import { withHelp } from './options.js';

export const webhookCommand: CommandModule<object, WebhookFlags> = {
  command: 'webhook',
  describe: 'serve a Kubernetes mutating admission webhook (HTTPS, POST /mutate) that points Pods at mirrored images',
  builder: (yargs) =>
    withHelp(
      withReaderFlags(yargs)
        .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain) file' })
        .option('tls-key', { type: 'string', describe: 'PEM private key file' })
        .option('host', { type: 'string', default: '0.0.0.0', describe: 'address to listen on' })
        .option('port', { type: 'number', default: 8443, describe: 'port to listen on (0: any free port)' })
        .option('refresh', { type: 'string', default: '1m', describe: 'how often to fetch the metadata repo again (and re-read the certificate)' }),
      [['$0 webhook --tls-cert tls.crt --tls-key tls.key --metadata-repo https://github.com/gcrxio/gcr.git', 'serve on 0.0.0.0:8443 (examples/webhook/)']],
      'Exit status: 0 stopped by SIGTERM/SIGINT; 2 usage error, unreadable certificate or metadata repo.',
    ),
  handler: async (argv) => {
    process.exitCode = await (await import('../src/cli/kube.js')).runWebhook(argv);
  },
};
