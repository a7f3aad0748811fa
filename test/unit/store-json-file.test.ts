import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isGcrsyncError, UNINTERRUPTED } from '../../src/errors.js';
import { readTextIfExists, writeFileAtomic } from '../../src/store/json-file.js';

describe('store json-file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gcrsync-json-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads undefined for a missing file and the text of an existing one', async () => {
    assert.equal(await readTextIfExists(join(dir, 'nope.json'), UNINTERRUPTED), undefined);
    await writeFile(join(dir, 'a.json'), 'héllo\n');
    assert.equal(await readTextIfExists(join(dir, 'a.json'), UNINTERRUPTED), 'héllo\n');
  });

  it('writes a text of several MB byte for byte, a character outside the BMP across a slice boundary included', async () => {
    const path = join(dir, 'big.json');
    const text = `${'a'.repeat((1 << 20) - 1)}😀${'é'.repeat(1 << 20)}\n`;
    await writeFileAtomic(path, text, UNINTERRUPTED);
    assert.deepEqual(await readFile(path), Buffer.from(text, 'utf8'));
  });

  it('creates missing directories, replaces the content and leaves no temp file behind', async () => {
    const path = join(dir, 'metadata', 'gcr.io', 'ns', 'x.json');
    await writeFileAtomic(path, 'one\n', UNINTERRUPTED);
    await writeFileAtomic(path, 'two\n', UNINTERRUPTED);
    assert.equal(await readFile(path, 'utf8'), 'two\n');
    assert.deepEqual(await readdir(join(dir, 'metadata', 'gcr.io', 'ns')), ['x.json']);
  });

  it('refuses to start once aborted and leaves the old content', async () => {
    const path = join(dir, 'x.json');
    await writeFile(path, 'old\n');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(writeFileAtomic(path, 'new\n', controller.signal), (e: unknown) => isGcrsyncError(e, 'ABORTED'));
    assert.equal(await readFile(path, 'utf8'), 'old\n');
  });
});
