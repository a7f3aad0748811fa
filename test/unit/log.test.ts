import { strict as assert } from 'node:assert';
import { createLogger, redact, redactAll, redactValue, redactedJsonPieces, registerSecret } from '../../src/log.js';

describe('log redaction', () => {
  it('masks a secret whole when a shorter secret is part of it, whatever the order they were registered in', () => {
    // a password that starts another credential (a token minted from it, a longer key of the same prefix)
    const short = 'helper-secret-1';
    const long = 'helper-secret-18e0b8e38ef47e24';
    assert.equal(redact(`say ${long} and ${short}`, [short, long]), 'say *** and ***');
    assert.equal(redact(`say ${long} and ${short}`, [long, short]), 'say *** and ***');
  });

  it('masks overlapping secrets as one span, leaving no piece of either', () => {
    assert.equal(redact('x abcdefghij y', ['abcdefg', 'efghij']), 'x *** y');
  });

  it('masks a secret holding a control character in a text log message', () => {
    const lines: string[] = [];
    const logger = createLogger({ secrets: ['tab\tsecret'], write: (line) => lines.push(line) });
    logger.warn('refused tab\tsecret here');
    assert.deepEqual(lines, ['WARN  refused *** here']);
  });
});

describe('redactedJsonPieces', () => {
  const whole = (value: unknown) => redactAll(JSON.stringify(redactValue(value), null, 2));
  const pieces = (value: unknown) => [...redactedJsonPieces(value)];

  it('writes the text the whole report gives, redactions, left-out members, shared and circular objects included', () => {
    registerSecret('pieces-secret-7d1c');
    const shared = { platforms: ['linux/amd64'] };
    const circular: Record<string, unknown> = { name: 'loop' };
    circular['self'] = circular;
    const report = {
      command: 'sync',
      auth: 'Basic abc',
      token: { nested: 'x' },
      nothing: undefined,
      empty: [],
      none: {},
      planned: Array.from({ length: 3000 }, (_, i) => ({ source: `r/${i}:t`, digest: `sha256:${i}`, reason: i % 2 ? 'new' : undefined })),
      outcomes: [
        { source: 'a', status: 'failed', error: 'GET https://user:pieces-secret-7d1c@host/x said Bearer abc.def' },
        { source: 'b', status: 'synced', result: shared, again: shared },
        undefined,
        new Error('token=hunter2 refused'),
        circular,
        { runs: [{ report: { outcomes: [{ deep: { password: 'p', list: [1, [2, { s: 'eyJhbGciOiJIUzI1NiJ9.x.y' }]] } }] } }] },
      ],
      problems: [{ subject: 'x', error: 'said "password":"swordfish"' }],
      count: 3,
    };
    const written = pieces(report);
    assert.equal(written.join(''), whole(report));
    assert.ok(written.length > 1, 'a big report is written in more than one piece');
    assert.ok(!written.join('').includes('pieces-secret-7d1c'));
  });

  it('writes a jobs report piece by piece down to its outcome lines, however deep they sit', () => {
    const outcomes = Array.from({ length: 20000 }, (_, i) => ({ source: `r/${i}:t`, status: 'synced', platforms: ['linux/amd64'], seconds: i }));
    const report = { command: 'sync', runs: [{ job: 'daily', source: 'r', report: { command: 'sync', outcomes, commit: { committed: true } } }] };
    const written = pieces(report);
    assert.equal(written.join(''), whole(report));
    assert.ok(written.join('').length > 2_000_000);
    assert.ok(Math.max(...written.map((piece) => piece.length)) < 100_000, 'no piece holds the whole run report');
  });

  it('writes what is not an object the way JSON.stringify does', () => {
    for (const value of ['text', 3, null, [], {}, [undefined], ['a', { b: [] }]]) assert.equal(pieces(value).join(''), whole(value));
  });
});
