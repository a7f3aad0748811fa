import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  version: string;
  /** the repository's web address, e.g. https://github.com/gcrsync/gcrsync */
  repositoryUrl: string;
}

/**
 * gcrsync's own package.json, found by walking up from this module: it sits two levels up in a clone run by tsx
 * (src/), three in a build or an npm install (dist/src/). yargs' own lookup starts from the bin link instead,
 * which in an npm install is the user's project, and printed "unknown".
 */
function readPackageInfo(): PackageInfo {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // no package.json at this level
    }
    const pkg = text === undefined ? undefined : (JSON.parse(text) as { name?: string; version?: string; repository?: { url?: string } });
    if (pkg?.name === 'gcrsync' && pkg.version !== undefined) {
      const url = pkg.repository?.url ?? '';
      return { version: pkg.version, repositoryUrl: url.replace(/^git\+/, '').replace(/\.git$/, '') };
    }
    if (dirname(dir) === dir) throw new Error(`gcrsync's package.json not found above ${fileURLToPath(import.meta.url)}`);
  }
}

export const packageInfo: PackageInfo = readPackageInfo();

/** `gcrsync/<version> (+<repository>)`: who is asking and where to read about it, as registries ask of bots. */
export const USER_AGENT = `gcrsync/${packageInfo.version} (+${packageInfo.repositoryUrl})`;
