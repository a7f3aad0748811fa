import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { parseConfigFile } from '../../src/config/file.js';
import { configJsonSchemaText, settingFlags } from '../../src/config/schema.js';
import { isGcrsyncError } from '../../src/errors.js';

const schemaFile = new URL('../../gcrsync.schema.json', import.meta.url);
const exampleFile = new URL('../../examples/gcrsync.yaml', import.meta.url);

let validator: Promise<(value: unknown) => boolean> | undefined;

/** What an editor with yaml-language-server says: the YAML read with the core schema, checked against gcrsync.schema.json. */
async function editorAccepts(text: string): Promise<boolean> {
  validator ??= readFile(schemaFile, 'utf8').then((json) => new Ajv({ allErrors: true }).compile(JSON.parse(json) as object));
  return (await validator)(parse(text));
}

function gcrsyncAccepts(text: string): boolean {
  try {
    parseConfigFile(text, 'gcrsync.yaml');
    return true;
  } catch (error) {
    if (isGcrsyncError(error, 'CONFIG')) return false;
    throw error;
  }
}

describe('gcrsync.schema.json', () => {
  it('is what src/config/schema.ts generates (run `npm run schema` after changing the config schema)', async () => {
    assert.equal(await readFile(schemaFile, 'utf8'), configJsonSchemaText());
  });

  it('is referenced by the shipped example, which it accepts', async () => {
    const example = await readFile(exampleFile, 'utf8');
    assert.match(example, /^# yaml-language-server: \$schema=\.\.\/gcrsync\.schema\.json$/m);
    assert.equal(await editorAccepts(example), true);
  });

  const files: Array<{ name: string; text: string; valid: boolean }> = [
    { name: 'a minimal file', text: 'jobs:\n  - name: a\n    source: gcr.io/x\n', valid: true },
    { name: 'numbers, booleans, one-or-a-list values and hooks', text: 'defaults:\n  concurrency: 4\n  platforms: linux/amd64\n  hooks: { afterPush: { run: [echo], timeout: 5s } }\njobs:\n  - name: a\n    sources: [gcr.io/x, { images: [nginx:1.25] }]\n    filters: { stableOnly: true, newest: 3, include: v1 }\n', valid: true },
    { name: 'an unknown key', text: 'jobs:\n  - name: a\n    source: gcr.io/x\n    targt: x\n', valid: false },
    { name: 'a number out of range', text: 'jobs:\n  - name: a\n    source: gcr.io/x\n    queryLimit: 0\n', valid: false },
    { name: 'an unknown transport', text: 'jobs:\n  - name: a\n    source: gcr.io/x\n    transport: ftp\n', valid: false },
    { name: 'a job without a name', text: 'jobs:\n  - source: gcr.io/x\n', valid: false },
    { name: 'a bad job name', text: 'jobs:\n  - name: Daily Run\n    source: gcr.io/x\n', valid: false },
    { name: 'an empty job list', text: 'jobs: []\n', valid: false },
  ];
  for (const file of files) {
    it(`editors and gcrsync agree on ${file.name}`, async () => {
      assert.equal(gcrsyncAccepts(file.text), file.valid, 'gcrsync');
      assert.equal(await editorAccepts(file.text), file.valid, 'the editor');
    });
  }
});

describe('setting flags', () => {
  it('are the documented flags, typed from the schema', () => {
    const flags = Object.fromEntries(settingFlags().map(({ name, ...option }) => [name, option]));
    assert.deepEqual(Object.keys(flags), ['target', 'metadata-repo', 'transport', 'concurrency', 'connections', 'query-limit', 'platform', 'schema1', 'allow-nondistributable', 'proxy']);
    assert.deepEqual(flags.schema1!.choices, ['skip', 'convert']);
    assert.equal(flags['allow-nondistributable']!.type, 'boolean');
    assert.equal(flags['query-limit']!.type, 'number');
    assert.match(flags['query-limit']!.describe, /default 20; or GCRSYNC_QUERY_LIMIT/);
    assert.deepEqual(flags.transport!.choices, ['registry', 'docker']);
    assert.equal(flags.platform!.array, true);
  });
});
