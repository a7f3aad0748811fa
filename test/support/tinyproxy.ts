import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acceptsConnections, logReader, stopChildOnce } from './processes.js';
import { freePort, tempDir, waitFor } from './temp.js';
import { toolPath } from './tools.js';

/** A real forward proxy (Debian's tinyproxy) on loopback, logging every request it forwards. */
export interface TestProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** the access log so far: `GET http://HOST/PATH` for plain requests, `CONNECT HOST:PORT` for tunnels */
  log(): string;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** ports CONNECT may reach; default every port */
  connectPorts?: number[];
}

export async function startTinyproxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const binary = toolPath('tinyproxy');
  const dir = await tempDir('tinyproxy');
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  const config = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    `LogFile "${logFile}"`,
    'LogLevel Info',
    'MaxClients 50',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ].join('\n');
  await writeFile(join(dir, 'tinyproxy.conf'), config + '\n');
  const child = spawn(binary, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'ignore', 'ignore'] });
  const log = logReader(logFile);
  const stop = stopChildOnce(`tinyproxy :${port}`, child, () => rm(dir, { recursive: true, force: true }));
  try {
    await waitFor(
      async () => child.exitCode === null && (await acceptsConnections('127.0.0.1', port)),
      15_000,
      () => `tinyproxy on 127.0.0.1:${port} did not come up (exit ${child.exitCode}); log:\n${log()}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, log, stop };
}
