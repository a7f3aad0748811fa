#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { compareCommand } from './compare.js';
import { monitorCommand } from './monitor.js';
import { syncCommand } from './sync.js';
import { testCommand } from './test.js';
import { listCommand } from './list.js';
import { pullCommand } from './pull.js';
import { rewriteCommand } from './rewrite.js';
import { webhookCommand } from './webhook.js';
import { whereCommand } from './where.js';
import { copyCommand } from './copy.js';
import { configCommand } from './config.js';
import { initCommand } from './init.js';
import { packageInfo } from '../src/package-info.js';
import { siteCommand } from './site.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { completionCommand } from './completion.js';
import { watchStderr, watchStdout } from '../src/cli/stdout.js';
import { keepHeapTight } from '../src/cli/heap.js';

watchStdout();
watchStderr();
keepHeapTight();

// Usage errors exit 2 like every other error that stops a run before it changes anything.
await yargs(hideBin(process.argv))
  .scriptName('gcrsync')
  .command(syncCommand)
  .command(compareCommand)
  .command(monitorCommand)
  .command(testCommand)
  .command(listCommand)
  .command(whereCommand)
  .command(pullCommand)
  .command(rewriteCommand)
  .command(webhookCommand)
  .command(copyCommand)
  .command(configCommand)
  .command(siteCommand)
  .command(loginCommand)
  .command(logoutCommand)
  .command(initCommand)
  .command(completionCommand)
  // only for `--get-yargs-completions` (the shell asking for words): the completion command above prints the script
  .completion('get-completion-script', false)
  .demandCommand(1, 'name a command (sync, compare, monitor, test, copy, config, init, login, logout, list, where, pull, rewrite, webhook, site, completion); see --help')
  .strict()
  .recommendCommands()
  .fail((message, error) => {
    if (error) throw error;
    process.stderr.write(`gcrsync: ${message}\nRun "gcrsync --help" for usage.\n`);
    process.exit(2);
  })
  .help()
  .version(packageInfo.version)
  .parseAsync();
