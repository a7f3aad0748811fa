import assert from 'node:assert/strict';
import { createKeychain } from '../../src/auth/keychain.js';
import { HttpClient } from '../../src/http/client.js';
import { RegistryClient } from '../../src/registry/client.js';
import { listNamespace, type Listing } from '../../src/sources/index.js';
import type { ListingLimits } from '../../src/sources/listing-run.js';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { endlessGoogleTree as endlessTree, hostileFront, type HostileFront } from '../support/hostile-front.js';

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
    return listNamespace(client, { registry: tree.host, namespace: 'ns' }, { queryLimit: 8, ...(limits !== undefined && { limits }), signal: UNINTERRUPTED });
  }

  it('a child that repeats under every new prefix stops at 16 levels (the default), reported as a problem', async () => {
    const tree = await endlessTree(() => ({ child: ['again'] }));
    servers.push(tree);
    const listing = await walk(tree);
    // the namespace (the probe that finds the extension is the walk's first answer) and 16 levels below it
    assert.equal(tree.requests.length, 17);
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

/** A registry that answers tags/list or _catalog with `page(n)` for the n-th page, each linking to the next, forever. */
async function endlessPages(page: (n: number) => { tags?: string[]; repositories?: string[] }): Promise<HostileFront> {
  return hostileFront(undefined, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://pages');
    if (!/\/tags\/list$|\/_catalog$/.test(url.pathname)) return false;
    const n = Number(url.searchParams.get('page') ?? '0');
    const next = new URL(url.pathname, 'http://pages');
    next.searchParams.set('page', String(n + 1));
    res.writeHead(200, { 'content-type': 'application/json', link: `<${next.pathname}${next.search}>; rel="next"` });
    res.end(JSON.stringify({ name: 'ns/app', ...page(n) }));
    return true;
  });
}

describe('listing bounds: tags per namespace', () => {
  it('a namespace that lists more tags than maxTags keeps the first ones and reports the rest', async () => {
    const tree = await endlessTree((path) => ({ child: path === 'ns' ? ['big'] : [], tags: path === 'ns' ? [] : Array.from({ length: 300 }, (_, i) => `t${i}`) }));
    const http = new HttpClient();
    try {
      const client = new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/gcrsync-test/config.json' }) });
      const listing = await listNamespace(client, { registry: tree.host, namespace: 'ns' }, { queryLimit: 8, limits: { maxTags: 50 }, signal: UNINTERRUPTED });
      assert.equal(listing.tags.length, 50);
      assert.ok(listing.problems.some((p) => /stopped at 50 tags \(maxTags 50\)/.test(p.error.message)), JSON.stringify(listing.problems));
    } finally {
      await http.close();
      await tree.stop();
    }
  });
});

describe('listing bounds: endless pages', function () {
  this.timeout(60_000);
  const servers: HostileFront[] = [];
  const clients: HttpClient[] = [];
  const registryClient = (caps?: { maxEntries?: number; maxBytes?: number }) => {
    const http = new HttpClient();
    clients.push(http);
    return new RegistryClient({ http, keychain: createKeychain({ dockerConfigPath: '/nonexistent/gcrsync-test/config.json' }), ...(caps !== undefined && { listingCaps: caps }) });
  };
  after(async () => {
    for (const http of clients) await http.close();
    for (const server of servers) await server.stop();
  });

  it('tags/list pages that never end stop at 200 000 tags in total (the default cap), not at memory', async () => {
    const pages = await endlessPages((n) => ({ tags: Array.from({ length: 1000 }, (_, i) => `p${n}-${i}`) }));
    servers.push(pages);
    await assert.rejects(
      registryClient().listTags({ registry: pages.host, repository: 'ns/app' }, UNINTERRUPTED),
      (error: unknown) => isGcrsyncError(error, 'HOSTILE_RESPONSE') && /tags of .*ns\/app: more than 200000 entries across its pages/.test(error.message),
    );
    assert.equal(pages.requests.length, 201);
  });

  it('pages that never end stop at the byte cap across pages', async () => {
    const pages = await endlessPages((n) => ({ tags: Array.from({ length: 200 }, (_, i) => `p${n}-${i}-${'x'.repeat(100)}`) }));
    servers.push(pages);
    await assert.rejects(
      registryClient({ maxBytes: 1024 * 1024 }).listTags({ registry: pages.host, repository: 'ns/app' }, UNINTERRUPTED),
      (error: unknown) => isGcrsyncError(error, 'HOSTILE_RESPONSE') && /more than 1048576 bytes/.test(error.message),
    );
    assert.ok(pages.requests.length < 60, `${pages.requests.length} pages`);
  });

  it('_catalog pages that never end stop at the cap for the namespace', async () => {
    const pages = await endlessPages((n) => ({ repositories: Array.from({ length: 1000 }, (_, i) => `ns/r${n}-${i}`) }));
    servers.push(pages);
    await assert.rejects(
      registryClient({ maxEntries: 5000 }).catalog(pages.host, UNINTERRUPTED),
      (error: unknown) => isGcrsyncError(error, 'HOSTILE_RESPONSE') && /catalog of .*: more than 5000 entries across its pages/.test(error.message),
    );
  });

  it('one page of 1.25 million tags is read without overflowing the stack', async () => {
    const tags = Array.from({ length: 1_250_000 }, (_, i) => `t${i}`);
    const page = await hostileFront(undefined, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'ns/app', tags }));
      return true;
    });
    servers.push(page);
    const listed = await registryClient({ maxEntries: 2_000_000 }).listTags({ registry: page.host, repository: 'ns/app' }, UNINTERRUPTED);
    assert.equal(listed.length, tags.length);
    assert.equal(listed.at(-1), 't1249999');
  });
});
