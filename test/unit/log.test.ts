import { strict as assert } from 'node:assert';
import { createLogger, redact } from '../../src/log.js';

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
