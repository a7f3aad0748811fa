import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { track, terminate } from './processes.js';
import { tempDir, waitFor } from './temp.js';
import { ensureTools, toolPath } from './tools.js';

export interface TestDockerd {
  socketPath: string;
  docker: Docker;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

let shared: Promise<TestDockerd> | undefined;

/**
 * One private Docker daemon for the whole test run (the root hooks stop it). It runs beside any system daemon:
 * own socket, data root, exec root (its own containerd lives there), pid file and an empty daemon.json, with
 * no networking setup. Registries on 127.0.0.0/8 are insecure by default for dockerd, so plain-http test
 * registries work without flags.
 */
export function startDockerd(): Promise<TestDockerd> {
  shared ??= launch().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

async function launch(): Promise<TestDockerd> {
  ensureTools(['dockerd']);
  // short path: containerd's socket lives under exec-root and unix socket paths are limited to 108 bytes
  const dir = await tempDir('dockerd');
  const socketPath = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const configFile = join(dir, 'daemon.json');
  await writeFile(configFile, '{}\n');
  const logFd = openSync(logFile, 'a');
  const child = spawn(
    toolPath('dockerd'),
    [
      '--config-file', configFile,
      '--host', `unix://${socketPath}`,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'),
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
      '--bridge=none',
    ],
    { stdio: ['ignore', logFd, logFd], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } },
  );
  closeSync(logFd);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const docker = new Docker({ socketPath });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    untrack();
    shared = undefined;
    await terminate(child, 20_000);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  const untrack = track({ name: `dockerd ${socketPath}`, stop, kill: () => child.kill('SIGKILL') });

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        return String(await docker.ping()) === 'OK';
      },
      60_000,
      () => `dockerd did not answer /_ping on ${socketPath} (exit ${child.exitCode}); log:\n${log().slice(-4000)}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { socketPath, docker, logFile, log, stop };
}
