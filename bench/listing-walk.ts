import { performance } from 'node:perf_hooks';
import { call, eachLimit } from './registry-api.js';

/**
 * Reads every gcr-style listing under `namespace` from the front, breadth first, `parallel` at a time. The bench
 * uses it to fill the front's listing cache before anything is timed, and to show how fast the cached front
 * answers on its own (the part of a no-op run that is the fixture, not gcrsync).
 */
export async function walkListings(
  frontUrl: string,
  namespace: string,
  parallel: number,
): Promise<{ paths: number; tags: number; seconds: number; listings: Record<string, unknown> }> {
  const started = performance.now();
  const listings: Record<string, unknown> = {};
  let pending = [namespace];
  let paths = 0;
  let tags = 0;
  while (pending.length > 0) {
    const level = pending;
    pending = [];
    await eachLimit(level, parallel, async (path) => {
      const answer = await call('GET', `${frontUrl}/v2/${path}/tags/list`);
      if (answer.status !== 200) throw new Error(`listing ${path}: HTTP ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`);
      const body = JSON.parse(answer.body.toString('utf8')) as { child?: string[]; tags?: string[] };
      listings[path] = body;
      paths++;
      tags += body.tags?.length ?? 0;
      for (const child of body.child ?? []) pending.push(`${path}/${child}`);
    });
  }
  return { paths, tags, seconds: (performance.now() - started) / 1000, listings };
}
