/**
 * `node --import tsx bench/wan-env.ts [RTT_MS]`: the bench's far-away setting, kept running for hands-on work: a
 * source namespace (the 20 ms case's shape) behind the gcr.io listing front and a delay proxy, and an empty target
 * behind another delay proxy. Prints the addresses and a sync command line, and stops everything on Ctrl-C.
 */
import { gcrFront } from '../test/support/gcr-front.js';
import { bareRemote } from '../test/support/git.js';
import { startRegistry } from '../test/support/registry.js';
import { stopAll } from '../test/support/processes.js';
import { startDelayProxy } from './delay-proxy.js';
import { buildRealisticNamespace } from './realistic-namespace.js';
import { WAN_SETTINGS } from './wan-case.js';

const rttMs = Number(process.argv[2] ?? 20);
const shape = WAN_SETTINGS[0]!.shape;
const source = await startRegistry();
await buildRealisticNamespace(source.url, shape);
const front = await gcrFront({ url: source.url }, { cacheListings: true });
const target = await startRegistry();
const [sourceFar, targetFar] = await Promise.all([startDelayProxy(new URL(front.url).host, rttMs), startDelayProxy(new URL(target.url).host, rttMs)]);
const remote = await bareRemote();
process.stdout.write(
  [
    `source  ${sourceFar.host}/${shape.namespace} (${rttMs} ms RTT)`,
    `target  ${targetFar.host}/mirror (${rttMs} ms RTT; direct: ${new URL(target.url).host})`,
    `metadata ${remote.url}`,
    `node dist/cmd/gcrsync.js sync --source ${sourceFar.host}/${shape.namespace} --target ${targetFar.host}/mirror --metadata-repo ${remote.url}`,
    '',
  ].join('\n'),
);
process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(0));
});
