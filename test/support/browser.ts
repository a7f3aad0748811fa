import { mkdir, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './temp.js';
import { track } from './processes.js';
import { toolPath } from './tools.js';

/** Screenshots and other things a browser test keeps for people to look at (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/**
 * Debian's chromium, headless, with a fresh profile and nothing that talks to the network on its own, driven over
 * the DevTools protocol by playwright-core. Stopped by the root hooks if a test forgets to.
 */
export async function startChromium(): Promise<{ context: BrowserContext; stop: () => Promise<void> }> {
  const executablePath = toolPath('chromium');
  const profile = await tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const stop = async () => {
    untrack();
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  };
  // playwright-core kills the browsers it launched when node exits, so the exit hook has nothing left to do
  const untrack = track({ name: 'chromium', stop, kill: () => undefined });
  return { context, stop };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.atom': 'application/atom+xml',
};

/** A plain static file server on 127.0.0.1 for a directory, like any static host the site would be published on. */
export async function serveDirectory(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const root = resolve(dir);
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const file = resolve(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) throw new Error('not a file');
        response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size });
        createReadStream(file).pipe(response);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const stop = () =>
    new Promise<void>((done) => {
      untrack();
      server.closeAllConnections();
      server.close(() => done());
    });
  const untrack = track({ name: 'static server', stop, kill: () => server.close() });
  return { url: `http://127.0.0.1:${address.port}/`, stop };
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
