import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** Everything the harness started that must not outlive the test run; the root hooks stop them all. */
interface Stoppable {
  name: string;
  stop(): Promise<void>;
  /** last resort from process 'exit', where only synchronous calls run */
  kill(): void;
}

const running = new Set<Stoppable>();

export function track(item: Stoppable): () => void {
  running.add(item);
  return () => running.delete(item);
}

export async function stopAll(): Promise<void> {
  const items = [...running];
  running.clear();
  const results = await Promise.allSettled(items.map((item) => item.stop()));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${items[i]!.name}: ${String(r.reason)}`] : []));
  if (failed.length > 0) throw new Error(`could not stop: ${failed.join('; ')}`);
}

process.on('exit', () => {
  for (const item of running) item.kill();
});

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Resolves once the process is gone. */
export function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A started server's `stop`: terminates `child` once, then runs `after` (remove its files); registered with the harness. */
export function stopChildOnce(name: string, child: ChildProcess, after: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    untrack();
    await terminate(child);
    await after();
  };
  const untrack = track({ name, stop, kill: () => child.kill('SIGKILL') });
  return stop;
}

/** The text of a log file so far; empty until the process creates it. */
export function logReader(file: string): () => string {
  return () => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
}

/** True once `host:port` accepts TCP connections (a server up, whatever it speaks). */
export function acceptsConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => (socket.end(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}
