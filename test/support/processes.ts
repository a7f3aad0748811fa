import { type ChildProcess } from 'node:child_process';

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
