import assert from 'node:assert/strict';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { hostileFront, type HostileFront } from '../support/hostile-front.js';

/** Answers that never end: every request has one total deadline, whatever the per-read timeouts say. */
describe('deadlines: a whole request is bounded', function () {
  this.timeout(60_000);
  const servers: HostileFront[] = [];
  const timers: NodeJS.Timeout[] = [];
  after(async () => {
    for (const timer of timers) clearInterval(timer);
    for (const server of servers) await server.stop();
  });

  it('a JSON body trickled a byte at a time ends at the deadline, though every byte beats the read timeout', async () => {
    const trickle = await hostileFront(undefined, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tags":[');
      timers.push(setInterval(() => res.write(' '), 200));
      return true;
    });
    servers.push(trickle);
    const http = new HttpClient({ timeoutMs: 5_000, deadlineMs: 1_500 });
    try {
      await assert.rejects(http.getJson(`${trickle.url}/v2/ns/app/tags/list`, { signal: UNINTERRUPTED }), (error: unknown) => isGcrsyncError(error, 'REGISTRY') && /took longer than 1500 ms/.test(error.message));
      assert.equal(trickle.requests.length, 1, 'a trickle is not asked again');
    } finally {
      await http.close();
    }
  });
});
