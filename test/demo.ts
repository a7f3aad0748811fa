/**
 * `npm run demo`: the daily job on a local default. Starts a gcr.io-style source registry seeded with sample
 * images (nested repositories, a multi-platform index), a target registry with a password, and a temp bare git
 * remote as the metadata repo; runs `gcrsync compare` then `gcrsync sync` through the built CLI and prints the
 * new CHANGELOG section, then writes the catalog the sync committed under site/ to a directory that is kept and
 * prints where to open it. Everything else runs on 127.0.0.1 and is removed at the end.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from './support/cli.js';
import { gcrFront } from './support/gcr-front.js';
import { bareRemote } from './support/git.js';
import { pushTestImage } from './support/images.js';
import { stopAll } from './support/processes.js';
import { startRegistry } from './support/registry.js';

const sample: Array<[string, string, string[]?]> = [
  ['google-containers/pause', '3.1'],
  ['google-containers/pause', '3.2', ['linux/amd64', 'linux/arm64']],
  ['google-containers/kube-proxy', 'v1.28.0'],
  ['google-containers/addon/metrics-server', 'v0.6.4'],
  ['google-containers/addon/dashboard', 'v2.7.0', ['linux/amd64', 'linux/arm64']],
];

function step(text: string): void {
  process.stdout.write(`\n==> ${text}\n`);
}

async function main(): Promise<number> {
  step('starting a source registry, a target registry and a metadata remote on 127.0.0.1');
  const upstream = await startRegistry();
  for (const [repo, tag, platforms] of sample) {
    await pushTestImage(upstream, repo, tag, { ...(platforms && { platforms }), sharedLayer: 'base-os', layerBytes: 256 * 1024 });
  }
  const source = await gcrFront(upstream);
  const target = await startRegistry({ auth: 'htpasswd' });
  const remote = await bareRemote();
  // one image is already at the target: compare finds it, sync does not copy it again
  await pushTestImage(target, 'mirror/pause', '3.1', { seed: 'google-containers/pause:3.1', sharedLayer: 'base-os', layerBytes: 256 * 1024 });
  const common = ['--source', `${source.host}/google-containers`, '--target', `${target.host}/mirror`, '--metadata-repo', remote.url];
  const env = { GCRSYNC_USERNAME: target.credentials!.username, GCRSYNC_PASSWORD: target.credentials!.password };

  for (const command of ['test', 'compare', 'sync', 'sync'] as const) {
    step(`gcrsync ${command} ${common.join(' ')}${command === 'sync' ? ' --transport registry' : ''}`);
    // the command writes to the demo's own stdout and stderr, so its log lines come before its summary
    const result = await runCli([command, ...common, ...(command === 'sync' ? ['--transport', 'registry'] : [])], { env, inherit: true });
    if (result.code !== 0) {
      process.stderr.write(`gcrsync ${command} exited ${result.code}\n`);
      return result.code;
    }
  }
  step(`metadata/${source.host.replace(':', '_')}/google-containers.json in the metadata repo`);
  process.stdout.write(await remote.show(`metadata/${source.host.replace(':', '_')}/google-containers.json`) + '\n');
  step('the new CHANGELOG section');
  const changelog = await remote.show('CHANGELOG.md');
  process.stdout.write((changelog.split(/^(?=## )/m)[1] ?? changelog) + '\n');
  // the sync committed the catalog under site/; a copy outside the (temporary) remote stays for people to open
  const site = join(tmpdir(), 'gcrsync-demo-site');
  await rm(site, { recursive: true, force: true });
  step(`gcrsync site --metadata-repo ${remote.url} --out ${site}`);
  const generated = await runCli(['site', '--metadata-repo', remote.url, '--out', site], { inherit: true });
  if (generated.code !== 0) return generated.code;
  process.stdout.write(`the catalog (also under site/ in the metadata repo): ${pathToFileURL(join(site, 'index.html')).href}\n`);
  await remote.cleanup();
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
