import { relative, sep } from 'node:path';
import { stopAll } from './processes.js';
import { ensureTools } from './tools.js';

const UNIT_DIR = `test${sep}unit${sep}`;

/** Whether any file of this run is outside test/unit/, i.e. starts registries, dockerd or git. */
function needsRealComponents(root: Mocha.Suite): boolean {
  return [...root.suites, ...root.tests].some((item) => item.file !== undefined && !relative(process.cwd(), item.file).startsWith(UNIT_DIR));
}

/**
 * Mocha root hooks (loaded by .mocharc.json for single files and by the integration and e2e tier configs). Before
 * the run: install missing tools here, where a slow apt-get cannot trip a test's timeout — unless every file is a
 * unit test, which needs none. After the run: stop whatever the harness started — registries, token servers, gcr
 * fronts, the shared dockerd.
 */
export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(0);
    const root = this.test?.parent;
    if (root === undefined || needsRealComponents(root)) ensureTools(['docker-registry', 'dockerd', 'htpasswd', 'git', 'openssl', 'zsh', 'debootstrap']);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopAll();
  },
};
