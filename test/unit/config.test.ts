import assert from 'node:assert/strict';
import { parseDuration } from '../../src/config/run-limits.js';
import { resolveJobs, type RawFlags } from '../../src/config/settings.js';
import { isGcrsyncError } from '../../src/errors.js';

/** A command line without a config file: one job with the one source the flags name. */
const commandLine = (flags: RawFlags, env: Record<string, string | undefined>) => resolveJobs(undefined, flags, env);

describe('resolveJobs from flags alone', () => {
  it('expands --namespace to gcr.io and applies defaults', () => {
    const options = commandLine({ namespace: 'google-containers', target: 'gcrxio' }, {});
    const job = options.jobs[0]!;
    const source = job.sources[0]!;
    assert.equal(source.kind, 'spec');
    if (source.kind === 'spec') assert.deepEqual([source.spec.registry, source.spec.namespace], ['gcr.io', 'google-containers']);
    assert.deepEqual(job.target, { registry: 'docker.io', path: 'gcrxio' });
    // no number of images at a time given: the run adapts it (docs/targets.md#concurrency)
    assert.equal(job.concurrency, undefined);
    assert.equal(job.queryLimit, 20);
  });
  it('lets flags win over the environment', () => {
    const env = { GCRSYNC_USERNAME: 'envuser', GCRSYNC_PASSWORD: 'envpass', GCRSYNC_TARGET: 'env.io/x' };
    const options = commandLine({ source: 'gcr.io/ns', target: 'flag.io/y', username: 'u', password: 'p' }, env);
    assert.deepEqual(options.targetCredentials, { username: 'u', password: 'p' });
    assert.equal(options.jobs[0]!.target.registry, 'flag.io');
    assert.deepEqual(commandLine({ source: 'gcr.io/ns' }, env).targetCredentials, { username: 'envuser', password: 'envpass' });
  });
  const bad: Array<[string, RawFlags, RegExp]> = [
    ['no source', { target: 'x.io' }, /source is required/],
    ['no target', { source: 'gcr.io/ns' }, /target is required/],
    ['bad transport', { source: 'gcr.io/ns', target: 'x.io', transport: 'ftp' }, /"ftp"/],
    ['bad concurrency', { source: 'gcr.io/ns', target: 'x.io', concurrency: 0 }, /--concurrency/],
    ['half credentials', { source: 'gcr.io/ns', target: 'x.io', username: 'u' }, /both a username and a password/],
    ['malformed source', { source: 'gcr.io/Bad', target: 'x.io' }, /gcr.io\/Bad/],
  ];
  for (const [name, flags, why] of bad) {
    it(`refuses ${name} with a message naming the value`, () => {
      assert.throws(() => commandLine(flags, {}), (e: unknown) => isGcrsyncError(e) && why.test(e.message));
    });
  }
});

describe('parseDuration', () => {
  it('reads units', () => {
    assert.equal(parseDuration('interval', '5s'), 5000);
    assert.equal(parseDuration('interval', '500ms'), 500);
    assert.equal(parseDuration('max-duration', '45m'), 2_700_000);
  });
  it('names a bad value', () => assert.throws(() => parseDuration('interval', '5 parsecs'), /--interval.*"5 parsecs"/));
});

describe('run limits', () => {
  const base = { source: 'gcr.io/ns', target: 'x.io/m' };
  it('reads --shard, --max-duration and --checkpoint-every', () => {
    const options = commandLine({ ...base, shard: '2/3', maxDuration: '45m', checkpointEvery: '50,10m' }, {});
    assert.deepEqual(options.shard, { index: 2, count: 3 });
    assert.equal(options.maxDurationMs, 45 * 60_000);
    assert.deepEqual(options.checkpoint, { images: 50, intervalMs: 600_000 });
  });
  for (const [flags, why] of [
    [{ shard: '0/3' }, /--shard.*"0\/3"/],
    [{ shard: '4/3' }, /--shard/],
    [{ shard: 'two' }, /--shard/],
    [{ maxDuration: 'soon' }, /--max-duration.*"soon"/],
    [{ checkpointEvery: 'x' }, /--checkpoint-every.*"x"/],
  ] as const) {
    it(`refuses ${JSON.stringify(flags)}`, () => assert.throws(() => commandLine({ ...base, ...flags }, {}), why));
  }
});

describe('resolveJobs: networks and credentials', () => {
  const base = { source: 'quay.io/ns', target: 'reg.lan:5000/mirror' };
  it('--src-creds go to the source registry and --dest-creds to the target, split at the first colon', () => {
    const options = commandLine({ ...base, srcCreds: 'reader:pa:ss', destCreds: 'writer:word' }, {});
    assert.deepEqual(options.credentials, { 'quay.io': { username: 'reader', password: 'pa:ss' } });
    assert.deepEqual(options.targetCredentials, { username: 'writer', password: 'word' });
  });
  it('--insecure-registry is http and --tls-skip-verify skip-verify; --cert-dir replaces the default dirs', () => {
    const options = commandLine({ ...base, insecureRegistry: ['a.lan,b.lan:5000'], tlsSkipVerify: 'c.lan', certDir: '/' }, {});
    assert.deepEqual(options.network.tls, { 'a.lan': 'http', 'b.lan:5000': 'http', 'c.lan': 'skip-verify' });
    assert.deepEqual(options.network.certDirs, ['/']);
  });
  it('--proxy (or GCRSYNC_PROXY) is the one proxy', () => {
    assert.equal(commandLine({ ...base, proxy: 'http://p:3128' }, {}).network.proxy, 'http://p:3128');
    assert.equal(commandLine(base, { GCRSYNC_PROXY: 'http://q:3128' }).network.proxy, 'http://q:3128');
  });
  const bad: Array<[string, RawFlags, RegExp]> = [
    ['--src-creds without a colon', { ...base, srcCreds: 'reader' }, /--src-creds takes USER:PASSWORD/],
    ['--dest-creds with --username', { ...base, destCreds: 'a:b', username: 'u', password: 'p' }, /--dest-creds or --username\/--password, not both/],
    ['a missing --ca-file', { ...base, caFile: '/nonexistent/ca.pem' }, /--ca-file: cannot read \/nonexistent\/ca.pem \(ENOENT\)/],
    ['a --cert-dir that is no directory', { ...base, certDir: '/nonexistent' }, /--cert-dir: \/nonexistent is not a directory/],
  ];
  for (const [name, flags, why] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => commandLine(flags, {}), (e: unknown) => isGcrsyncError(e) && why.test(e.message) && !e.message.includes('pa:ss'));
    });
  }
});
