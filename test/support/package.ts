import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { track } from './processes.js';
import { tempDir } from './temp.js';

const execFileAsync = promisify(execFile);

/** The checkout under test. */
export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A temp directory the root hooks remove if the test that made it does not. */
async function trackedTempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await tempDir(prefix);
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    untrack();
    await rm(dir, { recursive: true, force: true });
  };
  const untrack = track({ name: `temp dir ${dir}`, stop: remove, kill: () => undefined });
  return { dir, remove };
}

let packed: Promise<string> | undefined;

/**
 * `npm pack` of this checkout, once per test run; resolves to the tarball's path. The build is the one the suite
 * runs (npm test builds first): `--ignore-scripts` keeps `prepare` from rebuilding dist/ under the running suite.
 */
export function packTarball(): Promise<string> {
  packed ??= (async () => {
    const { dir } = await trackedTempDir('npm-pack');
    const { stdout } = await execFileAsync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repositoryRoot });
    const [info] = JSON.parse(stdout) as Array<{ filename: string }>;
    return join(dir, info!.filename);
  })().catch((error: unknown) => {
    packed = undefined;
    throw error;
  });
  return packed;
}

export interface Installed {
  prefix: string;
  /** the `gcrsync` command npm linked */
  bin: string;
  /** disk usage of node_modules (du), bytes */
  sizeBytes: number;
  /** installed packages, gcrsync included */
  packages: number;
  remove(): Promise<void>;
}

/** Installs `tarball` into an empty prefix with production dependencies only, the way a user's `npm install` does. */
export async function installTarball(tarball: string, options: { omitOptional?: boolean } = {}): Promise<Installed> {
  const { dir: prefix, remove } = await trackedTempDir('npm-install');
  const omit = ['--omit=dev', ...(options.omitOptional ? ['--omit=optional'] : [])];
  try {
    await execFileAsync('npm', ['install', ...omit, '--no-audit', '--no-fund', '--prefer-offline', '--prefix', prefix, tarball], {
      cwd: prefix,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    await remove();
    throw error;
  }
  const modules = join(prefix, 'node_modules');
  const { stdout } = await execFileAsync('du', ['-sk', modules]);
  return {
    prefix,
    bin: join(modules, '.bin', 'gcrsync'),
    sizeBytes: Number(stdout.split('\t')[0]) * 1024,
    packages: await countPackages(modules),
    remove,
  };
}

/** Package directories under a node_modules tree, scoped and nested ones included. */
export async function countPackages(modules: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(modules, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? (await readdir(join(modules, entry.name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(modules, entry.name, e.name))
      : [join(modules, entry.name)];
    for (const dir of dirs) count += 1 + (await countPackages(join(dir, 'node_modules')));
  }
  return count;
}
