import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Binaries the integration tests run, and the Debian package that provides each. */
const packageOf = {
  'docker-registry': 'docker-registry',
  dockerd: 'docker.io',
  htpasswd: 'apache2-utils',
  git: 'git',
  openssl: 'openssl',
  zsh: 'zsh',
  debootstrap: 'debootstrap',
  // only the browser tests (site) need it, and it is big: installed on demand, never with ALL_PACKAGES
  chromium: 'chromium',
  tinyproxy: 'tinyproxy',
} as const;
export type Tool = keyof typeof packageOf;

const ALL_PACKAGES = ['docker.io', 'docker-registry', 'apache2-utils', 'openssl', 'tinyproxy'];

// sbin dirs are not on every PATH, but dockerd lives in /usr/sbin
function findTool(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

// apt-get runs once per package and process: a tool a package did not provide is reported, not reinstalled
const attempted = new Set<string>();

/**
 * Makes sure the named binaries exist. CI is a fresh Debian machine running as root with only node/npm/git,
 * so the harness installs what it needs itself (once per process); elsewhere it says what to run.
 */
export function ensureTools(names: readonly Tool[]): void {
  const missing = names.filter((name) => findTool(name) === undefined);
  if (missing.length === 0) return;
  const packages = [...new Set([...ALL_PACKAGES, ...missing.map((name) => packageOf[name])])];
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`integration tests need ${missing.join(', ')}; install them with: sudo sh -c '${command}'`);
  }
  const fresh = packages.filter((name) => !attempted.has(name));
  if (fresh.length > 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (attempted.size === 0) execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    for (const name of fresh) attempted.add(name);
    const result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...fresh], { stdio: 'inherit', env });
    if (result.status !== 0) throw new Error(`"${command}" failed with status ${result.status}`);
  }
  const still = names.filter((name) => findTool(name) === undefined);
  if (still.length > 0) throw new Error(`${still.join(', ')} still missing after installing ${packages.join(' ')}`);
}

/** Absolute path of a tool (dockerd is in /usr/sbin, which a CI PATH may lack). */
export function toolPath(name: Tool): string {
  ensureTools([name]);
  return findTool(name)!;
}
