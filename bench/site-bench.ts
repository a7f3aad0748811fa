/**
 * `npm run bench:site`: the catalog of a 50 000-tag mirror (generated metadata, no registry): generation time,
 * site size, start page weight before search is used, and the time from typing to the first search result in
 * headless chromium, from disk (file://) and from a local static server. Prints a table; exits 1 when a target is missed.
 * `SITE_BENCH=wide` measures the same 50 000 tags as 50 000 one-tag repositories in one namespace.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { renderSite } from '../src/site/render.js';
import { writeSiteFiles } from '../src/store/site-files.js';
import { serveDirectory, startChromium } from '../test/support/browser.js';
import { BIG_MIRROR, WIDE_MIRROR, generateMirror } from '../test/support/site-mirror.js';
import { tempDir } from '../test/support/temp.js';
import { UNINTERRUPTED } from '../src/errors.js';

const START_PAGE_LIMIT = 200 * 1024;
const FIRST_RESULT_LIMIT_MS = 100;
/** the files a browser loads for the start page before anyone types */
const START_FILES = ['index.html', 'assets/site.css', 'assets/site.js', 'assets/search.js'];

const { inputs, changelog } = generateMirror(process.env.SITE_BENCH === 'wide' ? WIDE_MIRROR : BIG_MIRROR);
const tags = inputs.reduce((sum, input) => sum + Object.values(input.metadata.images).reduce((n, repo) => n + Object.keys(repo).length, 0), 0);
const dir = join(await tempDir('site-bench'), 'site');

let started = performance.now();
const files = renderSite(inputs, changelog);
const renderMs = performance.now() - started;
started = performance.now();
await writeSiteFiles(dir, files, UNINTERRUPTED);
const firstWriteMs = performance.now() - started;
started = performance.now();
const rewritten = await writeSiteFiles(dir, renderSite(inputs, changelog), UNINTERRUPTED);
const noopMs = performance.now() - started;

const size = (path: string) => Buffer.byteLength(files.get(path)!);
const total = [...files.keys()].reduce((sum, path) => sum + size(path), 0);
const startWeight = START_FILES.reduce((sum, path) => sum + size(path), 0);
const shards = [...files.keys()].filter((path) => path.startsWith('search/'));
const shardBytes = shards.reduce((sum, path) => sum + size(path), 0);
const biggestPage = Math.max(...[...files.keys()].filter((path) => path.endsWith('.html')).map(size));

/** Median over a few runs of: keystroke (or focus, which starts loading the index) → first result in the list. */
async function timeToFirstResult(context: BrowserContext, url: string): Promise<{ fromKey: number; fromFocus: number }> {
  const fromKey: number[] = [];
  const fromFocus: number[] = [];
  for (let run = 0; run < 5; run++) {
    const page = await context.newPage();
    await page.goto(url);
    // runs in the page (a string: the test code is compiled without the DOM's types)
    await page.evaluate(`(() => {
      const box = document.getElementById('q');
      const marks = (window.marks = {});
      box.addEventListener('focus', () => (marks.focus ??= performance.now()), { capture: true });
      box.addEventListener('keydown', () => (marks.key ??= performance.now()), { capture: true });
      new MutationObserver(() => (marks.result ??= performance.now())).observe(document.getElementById('results'), { childList: true });
    })()`);
    await page.locator('#q').focus();
    await page.keyboard.type('dns');
    await page.locator('#results li').first().waitFor();
    const marks = (await page.evaluate('window.marks')) as Record<string, number>;
    fromKey.push(marks['result']! - marks['key']!);
    fromFocus.push(marks['result']! - marks['focus']!);
    await page.close();
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { fromKey: median(fromKey), fromFocus: median(fromFocus) };
}

const browser = await startChromium();
const server = await serveDirectory(dir);
let fromDisk;
let fromServer;
try {
  fromDisk = await timeToFirstResult(browser.context, pathToFileURL(join(dir, 'index.html')).href);
  fromServer = await timeToFirstResult(browser.context, `${server.url}index.html`);
} finally {
  await server.stop();
  await browser.stop();
}
const onDisk = (await stat(join(dir, 'index.html'))).size;
await rm(join(dir, '..'), { recursive: true, force: true });

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const rows: Array<[string, string, string]> = [
  ['mirror', `${inputs.length} namespaces, ${inputs.reduce((n, input) => n + Object.keys(input.metadata.images).length, 0)} repositories, ${tags} tags`, ''],
  ['render (pure)', `${renderMs.toFixed(0)} ms`, ''],
  ['first write', `${firstWriteMs.toFixed(0)} ms, ${files.size} files`, ''],
  ['regenerate unchanged', `${noopMs.toFixed(0)} ms, ${rewritten.length} files rewritten`, rewritten.length === 0 ? 'PASS' : 'FAIL'],
  ['site size', `${(total / 1024 / 1024).toFixed(1)} MB`, ''],
  ['start page weight before search', `${kb(startWeight)} (index.html ${kb(onDisk)})`, startWeight <= START_PAGE_LIMIT ? 'PASS' : 'FAIL'],
  ['search index', `${shards.length} shards, ${kb(shardBytes)}`, ''],
  ['biggest page', kb(biggestPage), ''],
  ['first result after typing, file://', `${fromDisk.fromKey.toFixed(1)} ms (${fromDisk.fromFocus.toFixed(1)} ms from focus)`, fromDisk.fromKey < FIRST_RESULT_LIMIT_MS ? 'PASS' : 'FAIL'],
  ['first result after typing, http', `${fromServer.fromKey.toFixed(1)} ms (${fromServer.fromFocus.toFixed(1)} ms from focus)`, fromServer.fromKey < FIRST_RESULT_LIMIT_MS ? 'PASS' : 'FAIL'],
];
const width = Math.max(...rows.map(([name]) => name.length));
for (const [name, value, verdict] of rows) process.stdout.write(`${name.padEnd(width)}  ${value}${verdict === '' ? '' : `  ${verdict}`}\n`);
process.exitCode = rows.some(([, , verdict]) => verdict === 'FAIL') ? 1 : 0;
