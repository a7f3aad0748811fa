import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { gcrFront, type GcrFront } from '../support/gcr-front.js';
import { bareRemote } from '../support/git.js';
import { hostileFront, type HostileFront } from '../support/hostile-front.js';
import { pushTestImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { tempDir } from '../support/temp.js';

// a password JSON must escape: once `"` and `\` become `\"` and `\\`, masking the escaped text no longer finds it
const TARGET_USER = 'mirror-bot';
const TARGET_PASSWORD = 'Tg"t\\Pass-5e0f1d';
const JWT = /eyJ[A-Za-z0-9_-]{8,}/;

/** Fails when the password appears in `text` as written or as JSON spells it. */
function assertNoPassword(what: string, text: string): void {
  for (const form of [TARGET_PASSWORD, JSON.stringify(TARGET_PASSWORD).slice(1, -1), 'Pass-5e0f1d']) {
    assert.ok(!text.includes(form), `${what} leaks the password (${form.length} characters):\n${text.slice(Math.max(0, text.indexOf(form) - 200), text.indexOf(form) + 50)}`);
  }
}

/**
 * Secrets against hostile output: a hook that echoes the password into its failure message, a registry whose
 * error body echoes the bearer token it refused. Every output (stderr with --verbose, stdout with --json, the
 * --report file) is searched.
 */
describe('secrets stay secret when something echoes them (CLI, end to end)', function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let source: GcrFront;
  let target: TestRegistry;
  let echoing: HostileFront;
  let work: string;

  before(async () => {
    upstream = await startRegistry();
    await pushTestImage({ url: upstream.url }, 'ns/app', 'v1');
    source = await gcrFront({ url: upstream.url });
    target = await startRegistry({ auth: 'token', users: { [TARGET_USER]: TARGET_PASSWORD } });
    // a target that refuses manifest pushes with an error body quoting the bearer token it was sent
    echoing = await hostileFront(target.url, (req, res) => {
      if (req.method !== 'PUT' || !/\/manifests\//.test(req.url ?? '')) return false;
      const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'DENIED', message: `${token} may not push here` }] }));
      return true;
    });
    work = await tempDir('secrets-hostile');
  });
  after(async () => {
    await echoing?.stop();
    await source?.stop();
    await upstream?.stop();
    await target?.stop();
  });

  const env = () => ({ GCRSYNC_USERNAME: TARGET_USER, GCRSYNC_PASSWORD: TARGET_PASSWORD, HOME: work });

  it('a hook that prints the password: --json and the --report file are redacted, even with " and \\ in it', async () => {
    const remote = await bareRemote();
    const config = join(work, 'gcrsync.yaml');
    await writeFile(
      config,
      `jobs:\n  - name: echo\n    source: ${source.host}/ns\n    target: ${target.host}/echo\n    metadataRepo: ${remote.url}\n` +
        `    hooks:\n      afterPush: 'echo "the password is $GCRSYNC_PASSWORD" >&2; exit 3'\n`,
    );
    const reportFile = join(work, 'hook-report.json');
    const result = await runCli(['sync', '--config', config, '--json', '--report', reportFile, '--verbose'], { env: env() });
    assert.equal(result.code, 1, result.stderr);
    const written = await readFile(reportFile, 'utf8');
    const report = JSON.parse(written) as { runs: Array<{ report: { outcomes: Array<{ status: string; error?: string }> } }> };
    const failed = report.runs[0]!.report.outcomes[0]!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /afterPush hook .* exited with status 3: the password is \*\*\*/, 'the hook output is kept, masked');
    assertNoPassword('the --report file', written);
    assertNoPassword('stdout (--json)', result.stdout);
    assertNoPassword('stderr (--verbose)', result.stderr);
  });

  it('a registry error body that echoes the bearer token is reported with the token masked', async () => {
    const remote = await bareRemote();
    const reportFile = join(work, 'echo-report.json');
    const result = await runCli(
      ['sync', '--source', `${source.host}/ns`, '--target', `${echoing.host}/echoed`, '--metadata-repo', remote.url, '--json', '--report', reportFile, '--verbose'],
      { env: env() },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.ok(echoing.requests.some((r) => r.method === 'PUT' && /^Bearer eyJ/.test(r.authorization ?? '')), 'the push carried a JWT');
    const report = JSON.parse(result.stdout) as { outcomes: Array<{ status: string; error?: string }> };
    assert.equal(report.outcomes[0]?.status, 'failed');
    assert.match(report.outcomes[0]?.error ?? '', /DENIED: \*\*\* may not push here/);
    for (const [what, text] of [['stdout (--json)', result.stdout], ['stderr (--verbose)', result.stderr], ['the --report file', await readFile(reportFile, 'utf8')]] as const) {
      assert.doesNotMatch(text, JWT, `${what} leaks the bearer token`);
      assertNoPassword(what, text);
    }
  });
});
