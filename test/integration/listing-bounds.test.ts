import assert from 'node:assert/strict';
import { createKeychain } from '../../src/auth/keychain.js';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace, type Listing } from '../../src/sources/index.js';
import type { ListingLimits } from '../../src/sources/listing-run.js';
import { endlessGoogleTree as endlessTree, type HostileFront } from '../support/hostile-front.js';

/** The Google `child` walk against trees that never end: it stops at its limits and says where. */
describe('listing bounds: endless Google trees', function () {
  this.timeout(60_000);
  const servers: HostileFront[] = [];
  const http = new HttpClient();
  const client = new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/gcrsync-test/config.json' }) });
  after(async () => {
    await http.close();
    for (const server of servers) await server.stop();
  });

  async function walk(tree: HostileFront, limits?: Partial<ListingLimits>): Promise<Listing> {
    return listNamespace(client, { registry: tree.host, namespace: 'ns' }, { queryLimit: 8, ...(limits !== undefined && { limits }) });
  }

  it('a child that repeats under every new prefix stops at 16 levels (the default), reported as a problem', async () => {
    const tree = await endlessTree(() => ({ child: ['again'] }));
    servers.push(tree);
    const listing = await walk(tree);
    // the probe that finds the extension, the namespace, and 16 levels below it
    assert.equal(tree.requests.length, 18);
    assert.equal(listing.problems.length, 1);
    assert.match(listing.problems[0]!.error.message, /stopped at 16 levels of child below ns \(maxDepth 16\)/);
    assert.equal(listing.problems[0]!.error.code, 'HOSTILE_RESPONSE');
  });

  it('a tree with many children per node stops at maxRepositories', async () => {
    const tree = await endlessTree(() => ({ child: Array.from({ length: 40 }, (_, i) => `c${i}`) }));
    servers.push(tree);
    const listing = await walk(tree, { maxRepositories: 300 });
    assert.ok(tree.requests.length <= 301, `${tree.requests.length} requests (the probe and 300 repositories)`);
    assert.ok(listing.problems.some((p) => /stopped at 300 repositories \(maxRepositories 300\)/.test(p.error.message)), JSON.stringify(listing.problems));
  });

  it('a node listing endless tags without digests stops at maxRequests (each tag costs a manifest HEAD)', async () => {
    const tree = await endlessTree((path) => ({ child: path === 'ns' ? ['big'] : [], tags: path === 'ns' ? [] : Array.from({ length: 1000 }, (_, i) => `t${i}`) }));
    servers.push(tree);
    const listing = await walk(tree, { maxRequests: 200 });
    assert.ok(tree.requests.length <= 202, `${tree.requests.length} requests (the probe, the namespace, 200 queries)`);
    assert.ok(listing.tags.length > 0 && listing.tags.length < 200, `${listing.tags.length} tags`);
    assert.ok(listing.problems.some((p) => /stopped at 200 listing requests \(maxRequests 200\)/.test(p.error.message)), JSON.stringify(listing.problems));
  });
});
