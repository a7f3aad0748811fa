import { stopAll } from './processes.js';

/**
 * Mocha root hooks (loaded through .mocharc.json `require`): whatever the harness started — registries, token
 * servers, gcr fronts, the shared dockerd — is stopped once after the whole run.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopAll();
  },
};
