import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { ensureTools } from '../test/support/tools.js';
import { TIME_BINARY } from './measure.js';

/** What the bench runs besides the harness's own tools, with the Debian package that provides each. */
const BENCH_TOOLS = [
  { path: TIME_BINARY, pkg: 'time' },
  { path: '/usr/bin/skopeo', pkg: 'skopeo' },
  { path: 'docker', pkg: 'docker.io' },
] as const;

function onPath(name: string): boolean {
  if (name.startsWith('/')) {
    try {
      accessSync(name, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs what is missing (the bench runs as root on a fresh Debian machine like the test suite); elsewhere
 * it stops and prints the apt-get command.
 */
export function ensureBenchTools(): void {
  ensureTools(['docker-registry', 'dockerd', 'htpasswd', 'git', 'openssl']);
  const missing = BENCH_TOOLS.filter((tool) => !onPath(tool.path)).map((tool) => tool.pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`the bench needs ${missing.join(', ')}; install them with: sudo sh -c '${command}'`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  const still = BENCH_TOOLS.filter((tool) => !onPath(tool.path));
  if (still.length > 0) throw new Error(`${still.map((t) => t.path).join(', ')} still missing after installing ${missing.join(' ')}`);
}

/** First line of `<tool> --version`, for the report. */
export function versionOf(command: string, args = ['--version']): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return (result.stdout || result.stderr || 'unknown').split('\n')[0]!.trim();
}
