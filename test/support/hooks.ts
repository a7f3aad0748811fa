import { stopAll } from './processes.js';
import { ensureTools } from './tools.js';

/**
 * Mocha root hooks (loaded through .mocharc.json `require`). Before the run: install missing tools here, where
 * a slow apt-get cannot trip a test's timeout. After the run: stop whatever the harness started — registries,
 * token servers, gcr fronts, the shared dockerd.
 */
export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(0);
    ensureTools(['docker-registry', 'dockerd', 'htpasswd', 'git', 'openssl']);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopAll();
  },
};
