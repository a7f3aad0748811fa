import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from '../../src/http/client.js';
import { createLogger, redactAll } from '../../src/log.js';
import { deliverReport, parseNotifyUrl, parseNotifyWhen, runFailed, saveReport, sendNotification, slackMessage } from '../../src/report/notify.js';
import type { RunReport } from '../../src/reconcile/run-types.js';
import { UNINTERRUPTED } from '../../src/errors.js';

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    command: 'sync',
    source: 'gcr.io/google-containers',
    target: 'docker.io/gcrxio',
    metadataFile: 'metadata/gcr.io/google-containers.json',
    dryRun: false,
    sourceTags: 40,
    upToDate: 30,
    planned: [],
    outcomes: [
      { source: 'gcr.io/google-containers/pause:3.1', target: 'docker.io/gcrxio/pause:3.1', status: 'synced', digest: 'sha256:1', bytes: 100, seconds: 1 },
      { source: 'gcr.io/google-containers/etcd:3.4', target: 'docker.io/gcrxio/etcd:3.4', status: 'failed', digest: 'sha256:2', seconds: 1, error: 'REGISTRY: <html> & 500' },
    ],
    problems: [],
    commit: { committed: true, commit: '0123456789abcdef0123', pushed: true, commits: 1 },
    ...overrides,
  };
}

describe('notify: the Slack message', () => {
  it('says what ran, the counts, each failure (escaped for mrkdwn) and the metadata commit', () => {
    assert.equal(
      slackMessage(report()).text,
      [
        ':x: *gcrsync sync* `gcr.io/google-containers` → `docker.io/gcrxio`',
        '1 copied, 0 already there, 1 failed, 0 not started (40 source tags, 30 up to date)',
        '• `gcr.io/google-containers/etcd:3.4`: REGISTRY: &lt;html&gt; &amp; 500',
        'metadata: 0123456789ab, pushed',
      ].join('\n'),
    );
  });

  it('lists listing problems, and at most ten failures and problems in all', () => {
    const problems = [{ subject: 'gcr.io/g/bad', error: 'HOSTILE_RESPONSE' }];
    assert.match(slackMessage(report({ problems })).text, /• not listed: `gcr\.io\/g\/bad`: HOSTILE_RESPONSE/);
    const outcomes = Array.from({ length: 13 }, (_, i) => ({ source: `gcr.io/g/a${i}:1`, target: `x/a${i}:1`, status: 'failed' as const, digest: 'd', seconds: 0, error: 'e' }));
    const text = slackMessage(report({ outcomes, problems, commit: undefined })).text;
    assert.equal(text.split('\n').filter((line) => line.startsWith('• ')).length, 10);
    assert.match(text, /…and 4 more$/);
    assert.doesNotMatch(text, /metadata:/);
  });

  it('a config file of jobs: a headline, then each job run (or why it did not run)', () => {
    const jobs = {
      command: 'sync' as const,
      dryRun: false,
      runs: [
        { job: 'k8s', source: 'registry.k8s.io', report: report({ outcomes: [report().outcomes[0]!] }) },
        { job: 'quay', source: 'quay.io/coreos', error: 'SOURCE_UNREACHABLE: quay.io answered 503' },
      ],
    };
    assert.equal(
      slackMessage(jobs).text,
      [
        ':x: *gcrsync sync*: 2 job runs',
        '*k8s* `registry.k8s.io`: 1 copied, 0 already there, 0 failed, 0 not started (40 source tags, 30 up to date)',
        'metadata: 0123456789ab, pushed',
        '*quay* `quay.io/coreos`: did not run: SOURCE_UNREACHABLE: quay.io answered 503',
      ].join('\n'),
    );
    assert.equal(runFailed(jobs), true);
    assert.equal(runFailed({ ...jobs, runs: [jobs.runs[0]!] }), false);
  });

  it('a clean run gets a check mark, and failure means failed images or listing problems', () => {
    const clean = report({ outcomes: [report().outcomes[0]!] });
    assert.match(slackMessage(clean).text, /^:white_check_mark: /);
    assert.equal(runFailed(clean), false);
    assert.equal(runFailed(report()), true);
    assert.equal(runFailed({ ...clean, problems: [{ subject: 's', error: 'e' }] }), true);
  });
});

describe('notify: options', () => {
  it('parses --notify-on and --notify, and masks the webhook path from then on', () => {
    assert.equal(parseNotifyWhen(undefined), 'failure');
    assert.equal(parseNotifyWhen('always'), 'always');
    assert.throws(() => parseNotifyWhen('sometimes'), /failure or always/);
    assert.throws(() => parseNotifyUrl('not a url'), /http\(s\) URL/);
    assert.throws(() => parseNotifyUrl('ftp://example.com/x'), /http\(s\) URL/);
    const url = parseNotifyUrl('https://hooks.slack.example/services/T000/B000/SecretPart123');
    assert.equal(url.host, 'hooks.slack.example');
    assert.doesNotMatch(redactAll('posting to https://hooks.slack.example/services/T000/B000/SecretPart123 failed'), /SecretPart123/);
  });

  it('keeps the report as indented JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gcrsync-report-'));
    try {
      const file = join(dir, 'nested', 'report.json');
      await saveReport(file, report(), UNINTERRUPTED);
      const text = await readFile(file, 'utf8');
      assert.deepEqual(JSON.parse(text), report());
      assert.ok(text.endsWith('}\n') && text.includes('\n  "outcomes": ['));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('notify: posting to a webhook (real HTTP server on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const received: Array<{ path: string; type: string | undefined; body: unknown }> = [];
  let answer = 200;
  const http = new HttpClient({ retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });

  before(async () => {
    server = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      received.push({ path: request.url ?? '', type: request.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(answer).end(answer === 200 ? 'ok' : 'no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    answer = 200;
  });

  it('posts the Slack JSON on failure', async () => {
    const result = await sendNotification(http, new URL(`${base}/services/T1/B1/abc`), report(), { when: 'failure', signal: UNINTERRUPTED });
    assert.deepEqual(result, { sent: true });
    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, '/services/T1/B1/abc');
    assert.equal(received[0]!.type, 'application/json');
    assert.deepEqual(received[0]!.body, slackMessage(report()));
  });

  it('skips a clean run unless asked to post always', async () => {
    const clean = report({ outcomes: [] });
    assert.deepEqual(await sendNotification(http, new URL(`${base}/hook`), clean, { when: 'failure', signal: UNINTERRUPTED }), { sent: false, skippedBecause: 'the run did not fail' });
    assert.equal(received.length, 0);
    assert.deepEqual(await sendNotification(http, new URL(`${base}/hook`), clean, { when: 'always', signal: UNINTERRUPTED }), { sent: true });
    assert.equal(received.length, 1);
  });

  it('reports a refusing or unreachable webhook without throwing, and without its secret path', async () => {
    answer = 403;
    const refused = await sendNotification(http, new URL(`${base}/services/T9/B9/TopSecretToken`), report(), { when: 'always', signal: UNINTERRUPTED });
    assert.deepEqual(refused, { sent: false, error: `the notification webhook at ${new URL(base).host} answered HTTP 403` });
    const closed = `http://127.0.0.1:${await closedPort()}/services/T9/B9/TopSecretToken`;
    const unreachable = await sendNotification(http, new URL(closed), report(), { when: 'always', signal: UNINTERRUPTED });
    assert.equal(unreachable.sent, false);
    assert.match(unreachable.error!, /could not be reached/);
    assert.doesNotMatch(unreachable.error!, /TopSecretToken/);
  });
});

describe('notify: deliverReport', () => {
  it('saves the report, posts the notification, and logs instead of throwing when either fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gcrsync-deliver-'));
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (line) => lines.push(line) });
    const posted: string[] = [];
    const http = {
      request: async (req: { body?: unknown }) => {
        posted.push(String(req.body));
        return { status: 500, discard: async () => undefined } as never;
      },
    };
    try {
      const file = join(dir, 'report.json');
      const result = await deliverReport(report(), { reportFile: file, notify: { url: new URL('https://hooks.example/x/SecretHookPath'), when: 'failure' }, http, logger, signal: UNINTERRUPTED });
      assert.deepEqual(result, { saved: true, notified: { sent: false, error: 'the notification webhook at hooks.example answered HTTP 500' } });
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), report());
      assert.deepEqual(posted.map((body) => JSON.parse(body)), [slackMessage(report())]);
      assert.deepEqual(lines, ['WARN  the notification webhook at hooks.example answered HTTP 500']);

      const unwritable = await deliverReport(report(), { reportFile: join(file, 'under-a-file.json'), http, logger, signal: UNINTERRUPTED });
      assert.deepEqual(unwritable, { saved: false });
      assert.match(lines.at(-1)!, /^ERROR could not write the report to .*under-a-file\.json/);
      assert.deepEqual(await deliverReport(report(), { http, logger, signal: UNINTERRUPTED }), {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
