import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { followDaemonProgress } from './containers.js';
import { tempDir } from './temp.js';
import { toolPath } from './tools.js';

const execFileAsync = promisify(execFile);

/**
 * A stand-in for `node:20-bookworm-slim`, made without pulling an image: Debian's minbase from the mirror apt
 * uses (debootstrap), with this machine's node binary and npm where the official image has them (/usr/local).
 * Building it takes a minute, so the root filesystem is kept as a tarball in a cache directory, under a key
 * made of everything that goes into it; a change of any of them builds a new one and removes the old.
 */

/** Besides minbase: what the copied node binary links against (apt pulls it in anyway; named so it stays). */
const PACKAGES = ['libstdc++6', 'libgcc-s1'];
const IMAGE = 'gcrsync-test-debian';
const CA_IN_IMAGE = '/usr/local/share/gcrsync-test/extra-ca.crt';

function cacheDir(): string {
  return process.env.GCRSYNC_TEST_CACHE ?? join(homedir(), '.cache', 'gcrsync-test');
}

/** The Debian release of this machine (its mirror and suite are the base's). */
function hostSuite(): string {
  const suite = /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  if (suite === undefined) throw new Error('the container test builds its base with debootstrap and needs a Debian host (no VERSION_CODENAME in /etc/os-release)');
  return suite;
}

/** The mirror apt uses for `suite` and main: deb822 `.sources` stanzas, then one-line `.list` entries. */
function debianMirror(suite: string): string {
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [])];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (field('Types').includes('deb') && field('Suites').includes(suite) && field('Components').includes('main')) return field('URIs')[0]!;
      }
    } else {
      const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${suite}\\s+(?:.*\\s)?main\\b`, 'm').exec(text);
      if (line) return line[1]!;
    }
  }
  throw new Error(`no Debian mirror for ${suite} main in /etc/apt/sources.list*`);
}

interface BaseRecipe {
  suite: string;
  mirror: string;
  node: string;
  npmDir: string;
  /** CA certificates this machine adds for its egress (NODE_EXTRA_CA_CERTS), needed by npm inside the build */
  extraCa?: string;
  key: string;
}

async function recipe(): Promise<BaseRecipe> {
  const suite = hostSuite();
  const mirror = debianMirror(suite);
  const node = realpathSync(process.execPath);
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major < 20 || (major === 20 && minor < 18)) throw new Error(`gcrsync needs Node >= 20.18; this node is ${process.version}`);
  const npmDir = join((await execFileAsync('npm', ['root', '-g'])).stdout.trim(), 'npm');
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  const extraCa = extra !== undefined && existsSync(extra) ? extra : undefined;
  const caHash = extraCa === undefined ? '' : createHash('sha256').update(readFileSync(extraCa)).digest('hex');
  const key = createHash('sha256')
    .update(JSON.stringify({ suite, mirror, PACKAGES, node: process.version, npmVersion, caHash, layout: 1 }))
    .digest('hex')
    .slice(0, 16);
  return { suite, mirror, node, npmDir, ...(extraCa !== undefined && { extraCa }), key };
}

/** debootstrap, node and npm in /usr/local, the extra CA; then the tarball `docker import` reads. */
async function buildRootfsTarball(base: BaseRecipe, tarball: string): Promise<void> {
  const work = await tempDir('debootstrap');
  try {
    const rootfs = join(work, 'rootfs');
    await execFileAsync(toolPath('debootstrap'), ['--variant=minbase', `--include=${PACKAGES.join(',')}`, base.suite, rootfs, base.mirror], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // a slim image carries no downloaded packages
    const archives = join(rootfs, 'var/cache/apt/archives');
    for (const file of (await readdir(archives)).filter((f) => f.endsWith('.deb'))) await rm(join(archives, file));
    await copyFile(base.node, join(rootfs, 'usr/local/bin/node'));
    await chmod(join(rootfs, 'usr/local/bin/node'), 0o755);
    await mkdir(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
    await cp(base.npmDir, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
    if (base.extraCa !== undefined) {
      await mkdir(join(rootfs, dirname(CA_IN_IMAGE)), { recursive: true });
      await copyFile(base.extraCa, join(rootfs, CA_IN_IMAGE));
    }
    await mkdir(dirname(tarball), { recursive: true });
    const partial = `${tarball}.${process.pid}.partial`;
    await execFileAsync('tar', ['-C', rootfs, '-cf', partial, '.']);
    await rename(partial, tarball);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Imports the cached base (building it first when the cache has none for this key) into `docker` and returns
 * its image name. `built` says whether this call ran debootstrap.
 */
export async function importDebianBase(docker: Docker): Promise<{ image: string; built: boolean }> {
  const base = await recipe();
  const name = `debian-${base.suite}-${base.key}.tar`;
  const tarball = join(cacheDir(), name);
  const built = !existsSync(tarball);
  if (built) {
    await buildRootfsTarball(base, tarball);
    for (const old of await readdir(cacheDir())) {
      if (old.startsWith('debian-') && old !== name) await rm(join(cacheDir(), old), { force: true });
    }
  }
  const changes = [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...(base.extraCa !== undefined ? [`ENV NODE_EXTRA_CA_CERTS=${CA_IN_IMAGE}`] : []),
    'CMD ["node"]',
  ];
  const stream = await docker.importImage(createReadStream(tarball), { repo: IMAGE, tag: base.key, changes });
  await followDaemonProgress(docker, stream, 'docker import');
  return { image: `${IMAGE}:${base.key}`, built };
}
