import type { CommandModule } from 'yargs';
import { runLogin, type LoginFlags } from '../src/cli/login.js';

export const loginCommand: CommandModule<object, LoginFlags> = {
  command: 'login <registry>',
  describe: 'check USER and password against REGISTRY, then store them in the Docker config (or --authfile), as docker login does',
  builder: (yargs) =>
    yargs
      .positional('registry', { type: 'string', demandOption: true, describe: 'registry host[:port]' })
      .option('username', { alias: 'u', type: 'string', describe: 'user name (or GCRSYNC_USERNAME)' })
      .option('password-stdin', { type: 'boolean', describe: 'read the password from stdin (or GCRSYNC_PASSWORD)' })
      .option('authfile', { type: 'string', describe: 'auth file to write (default REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json or ~/.docker/config.json)' })
      .option('insecure-registry', { type: 'string', array: true, describe: 'host[:port] spoken to over plain HTTP' })
      .option('tls-skip-verify', { type: 'string', array: true, describe: 'host[:port] spoken to over HTTPS without checking its certificate' })
      .option('cert-dir', { type: 'string', describe: 'certs.d directory with HOST[:PORT]/{ca.crt,client.cert,client.key}' })
      .option('ca-file', { type: 'string', describe: 'PEM file of extra CA certificates' })
      .option('verbose', { type: 'boolean', describe: 'debug logging' }),
  handler: async (argv) => {
    process.exitCode = await runLogin(argv);
  },
};
