import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acceptsConnections, logReader, stopChildOnce } from './processes.js';
import { freePort, tempDir, waitFor } from './temp.js';
import { startTokenServer, type TokenServer } from './token-server.js';
import type { RegistryEndpoint } from './images.js';
import { ensureTools, toolPath } from './tools.js';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** username → password; defaults to { tester: 'secret-pass' } when auth is not 'none' */
  users?: Record<string, string>;
  /** token mode: token lifetime in seconds (default 300) */
  tokenTtlSeconds?: number;
  /** token mode: grant pull to anonymous token requests */
  anonymousPull?: boolean;
  /** Docker schema1 pushes (distribution >= 2.7 refuses them unless `compatibility.schema1.enabled`) */
  schema1?: boolean;
  /**
   * regular expressions a manifest's layer `urls` must match (`validation.manifests.urls.allow`); without it the
   * registry refuses every manifest that carries foreign-layer urls
   */
  allowLayerUrls?: string[];
  /** serve HTTPS with this certificate; with `clientCa`, only clients with a certificate it signed (mTLS) */
  tls?: { cert: string; key: string; clientCa?: string };
  /** listen on IPv4 or IPv6 loopback (default 127.0.0.1); the host is then `[::1]:PORT` */
  address?: '127.0.0.1' | '::1';
  /** serve this storage directory (another registry's `storageDir`) instead of a fresh one; it is not removed on stop */
  storageDir?: string;
  /** distribution's read-only maintenance mode: pulls work, every write answers 405 */
  readOnly?: boolean;
}

/** A running registry; it is its own RegistryEndpoint, with the first user's credentials. */
export interface TestRegistry extends RegistryEndpoint {
  /** `127.0.0.1:PORT` (or `[::1]:PORT`), usable as the registry part of a reference */
  host: string;
  /** `http://127.0.0.1:PORT` (https with `tls`) */
  url: string;
  auth: RegistryAuth;
  users: Record<string, string>;
  /** the first user's credentials, for the common one-user case (undefined when auth is 'none') */
  credentials?: { username: string; password: string };
  storageDir: string;
  logFile: string;
  tokenServer?: TokenServer;
  /** the registry's log so far (for failure messages) */
  log(): string;
  stop(): Promise<void>;
}

const DEFAULT_USERS = { tester: 'secret-pass' };

function authSection(auth: RegistryAuth, dir: string, token?: TokenServer): string {
  if (auth === 'htpasswd') {
    return `auth:\n  htpasswd:\n    realm: gcrsync-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  if (auth === 'token' && token) {
    return (
      `auth:\n  token:\n    realm: ${token.realm}\n    service: ${token.service}\n` +
      `    issuer: ${token.issuer}\n    rootcertbundle: ${token.certFile}\n`
    );
  }
  return '';
}

function tlsSection(tls: RegistryOptions['tls']): string {
  if (tls === undefined) return '';
  const clientCas = tls.clientCa === undefined ? '' : `    clientcas:\n      - ${tls.clientCa}\n`;
  return `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n${clientCas}`;
}

async function writeHtpasswd(dir: string, users: Record<string, string>): Promise<void> {
  const lines = Object.entries(users).map(([user, password]) =>
    execFileSync(toolPath('htpasswd'), ['-Bbn', user, password], { encoding: 'utf8' }).trim(),
  );
  await writeFile(join(dir, 'htpasswd'), lines.join('\n') + '\n');
}

/**
 * Runs a real `docker-registry serve` (Debian's distribution 2.8) on a free loopback port with temp filesystem
 * storage and deletes enabled, and resolves once `/v2/` answers.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  ensureTools(['docker-registry', 'htpasswd', 'openssl']);
  const auth = options.auth ?? 'none';
  const users = auth === 'none' ? {} : (options.users ?? DEFAULT_USERS);
  const dir = await tempDir(`registry-${auth}`);
  const storageDir = options.storageDir ?? join(dir, 'storage');
  const logFile = join(dir, 'registry.log');
  const port = await freePort();
  const hostPort = options.address === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`;
  let tokenServer: TokenServer | undefined;
  if (auth === 'htpasswd') await writeHtpasswd(dir, users);
  if (auth === 'token') {
    tokenServer = await startTokenServer({
      port: await freePort(),
      dir,
      users,
      ...(options.tokenTtlSeconds !== undefined && { ttlSeconds: options.tokenTtlSeconds }),
      ...(options.anonymousPull !== undefined && { anonymousPull: options.anonymousPull }),
    });
  }
  const config =
    `version: 0.1\n` +
    `log:\n  level: info\n  formatter: text\n` +
    `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true\n` +
    `  maintenance:\n    uploadpurging:\n      enabled: false\n` +
    (options.readOnly ? `    readonly:\n      enabled: true\n` : '') +
    `http:\n  addr: "${hostPort}"\n  secret: ${randomBytes(16).toString('hex')}\n` +
    tlsSection(options.tls) +
    authSection(auth, dir, tokenServer) +
    (options.schema1 ? `compatibility:\n  schema1:\n    enabled: true\n` : '') +
    (options.allowLayerUrls ? `validation:\n  manifests:\n    urls:\n      allow:\n${options.allowLayerUrls.map((r) => `        - ${JSON.stringify(r)}\n`).join('')}` : '');
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, config);

  const logFd = openSync(logFile, 'a');
  const child = spawn(toolPath('docker-registry'), ['serve', configFile], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const url = `${options.tls === undefined ? 'http' : 'https'}://${hostPort}`;
  const log = logReader(logFile);
  const stop = stopChildOnce(`docker-registry ${url}`, child, async () => {
    await tokenServer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        // an HTTPS registry (perhaps wanting a client certificate) is up once its port accepts connections
        if (options.tls !== undefined) return await acceptsConnections(options.address ?? '127.0.0.1', port);
        const res = await fetch(`${url}/v2/`);
        await res.arrayBuffer();
        return res.status === 200 || res.status === 401;
      },
      15_000,
      () => `docker-registry on ${url} did not come up (exit ${child.exitCode}); log:\n${log().slice(-4000)}`,
    );
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}; log:\n${log().slice(-4000)}`);
  } catch (error) {
    await stop();
    throw error;
  }

  const first = Object.entries(users)[0];
  return {
    host: hostPort,
    url,
    auth,
    users,
    ...(first && { credentials: { username: first[0], password: first[1] } }),
    storageDir,
    logFile,
    ...(tokenServer && { tokenServer }),
    log,
    stop,
  };
}
