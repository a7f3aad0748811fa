import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type * as z from 'zod';
import { GcrsyncError } from '../errors.js';
import { fileSchema, type FileValue, type NAMESPACE_APIS, type SettingsBlock, type SourceValue } from './schema.js';

/**
 * `gcrsync.yaml`: defaults at the top, then a list of jobs, as schema.ts describes them. The YAML is turned
 * into plain data (failsafe schema: every scalar is text) while the position of every value and key is noted;
 * the schema's problems then get their path and line:column, all of them at once.
 */

export { CONFIG_FILE_NAME, locateConfigFile } from './locate.js';

export type { SettingsBlock } from './schema.js';

/** A command a hook runs: a string goes to `sh -c`, a list is the argv (no shell). */
export type HookSpec = NonNullable<NonNullable<SettingsBlock['hooks']>['afterPush']>;

/** One source line of a job, before anything is listed. */
export type SourceEntry =
  | { kind: 'namespace'; location: string; api?: (typeof NAMESPACE_APIS)[number]; path: string }
  | { kind: 'repositories'; location: string; repositories: string[]; path: string }
  | { kind: 'images'; images: string[]; path: string }
  /** `file` is resolved against the config file's directory */
  | { kind: 'imageList'; file: string; path: string };

export interface JobEntry {
  name: string;
  sources: SourceEntry[];
  /** source images `config validate` names as examples of what the job does */
  examples: string[];
  settings: SettingsBlock;
  /** `jobs[2]`: the config path of the job, for messages */
  path: string;
}

export interface ConfigFile {
  file: string;
  defaults: SettingsBlock;
  jobs: JobEntry[];
  /** `gcrsync.yaml:12:5` for a config path such as `jobs[1].target` (or the file name when unknown) */
  where(path: string): string;
}

// ---------- YAML to plain data, with positions ----------

interface Walk {
  doc: Document;
  lines: LineCounter;
  file: string;
  problems: string[];
  /** config path (`jobs[0].target`) → offset of its value, and of its key */
  values: Map<string, number>;
  keys: Map<string, number>;
}

function position(walk: Walk, offset: number | undefined): string {
  if (offset === undefined) return walk.file;
  const { line, col } = walk.lines.linePos(offset);
  return `${walk.file}:${line}:${col}`;
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`), '');
}

/** Plain data of a node: text, lists and mappings, `null` for an empty value; anchors followed. */
function plain(walk: Walk, raw: unknown, path: string): unknown {
  const node = (isAlias(raw) ? raw.resolve(walk.doc) : raw) as Node | null | undefined;
  if (node?.range) walk.values.set(path, node.range[0]);
  if (isSeq(node)) return node.items.map((item, index) => plain(walk, item, `${path}[${index}]`));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode)) {
        walk.problems.push(`${position(walk, keyNode?.range?.[0] ?? node.range?.[0])} ${path === '' ? 'top level' : path}: keys must be plain names`);
        continue;
      }
      const key = String(keyNode.value);
      const where = pathText([...(path === '' ? [] : [path]), key]);
      if (keyNode.range) walk.keys.set(where, keyNode.range[0]);
      // defineProperty: a key such as `__proto__` stays a key (and is then refused as unknown)
      Object.defineProperty(out, key, { value: plain(walk, pair.value, where), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (!isScalar(node) || node.value === null || (node.value === '' && node.type === 'PLAIN')) return null;
  return String(node.value);
}

/** Where a path's value is, else its closest enclosing value. */
function at(walk: Walk, path: string): string {
  for (let p = path; ; p = p.replace(/(?:\.[^.[]*|\[\d+\])$/, '')) {
    const offset = walk.values.get(p);
    if (offset !== undefined || p === '') return position(walk, offset);
  }
}

function has(data: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  let value = data;
  for (const key of path.slice(0, -1)) value = (value as Record<PropertyKey, unknown> | null)?.[key];
  return typeof value === 'object' && value !== null && Object.hasOwn(value, path.at(-1)!);
}

/** One line per problem: `gcrsync.yaml:12:5 jobs[1].target: message`. */
function report(walk: Walk, data: unknown, issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const label = pathText(path);
    const line = (where: string, name: string, message: string) => walk.problems.push(`${where} ${name === '' ? 'top level' : name}: ${message}`);
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && path.length > 0 && !has(data, path)) {
      const parent = pathText(path.slice(0, -1));
      line(at(walk, parent), parent, `${String(path.at(-1))} is required`);
    } else if (issue.code === 'invalid_union') {
      // the one alternative whose own kind matched (a list for "a string or a list") explains it best
      const fitting = issue.errors.filter((errors) => !errors.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      if (fitting.length === 1) report(walk, data, fitting[0]!, path);
      else line(at(walk, label), label, issue.message);
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const name = pathText([...path, key]);
        line(position(walk, walk.keys.get(name)), name, issue.message);
      }
    } else {
      const key = (issue as { params?: { at?: string } }).params?.at;
      line(at(walk, key ? pathText([...path, key]) : label), label, issue.message);
    }
  }
}

// ---------- from checked data to typed entries ----------

function sourceOf(value: SourceValue, path: string, baseDir: string): SourceEntry {
  if (typeof value === 'string') return { kind: 'namespace', location: value, path };
  // the schema let through exactly one kind, with a namespace where it needs one
  if (value.repositories !== undefined) return { kind: 'repositories', location: value.namespace!, repositories: value.repositories, path };
  if (value.images !== undefined) return { kind: 'images', images: value.images, path };
  if (value.imageList !== undefined) return { kind: 'imageList', file: isAbsolute(value.imageList) ? value.imageList : resolve(baseDir, value.imageList), path };
  return { kind: 'namespace', location: value.namespace!, ...(value.api !== undefined && { api: value.api }), path };
}

/**
 * Parses and checks the text of a config file: every schema problem, and the file as far as it is well shaped
 * (the jobs without a problem of their own; none when the YAML or the defaults every job starts from are
 * broken), so `config validate` can check those jobs further in the same run.
 */
export function checkConfigFile(source: string, file: string): { config?: ConfigFile; problems: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { schema: 'failsafe', lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const walk: Walk = { doc, lines, file, problems: [], values: new Map(), keys: new Map() };
  for (const error of doc.errors) walk.problems.push(`${position(walk, error.pos[0])} ${error.message.split('\n')[0]}`);
  // a document YAML could not parse has no trustworthy tree to check further
  if (walk.problems.length > 0) return { problems: walk.problems };
  const data = plain(walk, doc.contents, '');
  const checked = fileSchema.safeParse(data);
  const where = (path: string) => position(walk, walk.values.get(path));
  if (checked.success && walk.problems.length === 0) return { config: configOf(file, checked.data, checked.data.jobs.keys(), where), problems: [] };
  if (!checked.success) report(walk, data, checked.error.issues);
  const issues = checked.success ? [] : checked.error.issues;
  const rawJobs = (data as { jobs?: unknown } | null)?.jobs;
  if (issues.some((i) => i.path[0] === 'defaults') || !Array.isArray(rawJobs)) return { problems: walk.problems };
  const indexes = [...rawJobs.keys()].filter((index) => !issues.some((i) => i.path[0] === 'jobs' && i.path[1] === index));
  const shaped = fileSchema.safeParse({ defaults: (data as { defaults?: unknown }).defaults, jobs: indexes.map((i) => rawJobs[i]) });
  return { ...(shaped.success && { config: configOf(file, shaped.data, indexes.values(), where) }), problems: walk.problems };
}

/** The typed entries of checked data; `indexes` are the jobs' places in the file, for their paths. */
function configOf(file: string, data: FileValue, indexes: Iterable<number>, where: (path: string) => string): ConfigFile {
  const baseDir = dirname(resolve(file));
  const places = [...indexes];
  const jobs = data.jobs.map(({ name, source, sources, examples, ...settings }, n): JobEntry => {
    const path = `jobs[${places[n]}]`;
    const entries = sources !== undefined ? sources.map((v, i) => sourceOf(v, `${path}.sources[${i}]`, baseDir)) : [sourceOf(source!, `${path}.source`, baseDir)];
    return { name, sources: entries, examples: examples ?? [], settings, path };
  });
  return { file, defaults: data.defaults ?? {}, jobs, where };
}

/** Parses and checks the text of a config file; every problem is reported at once in one CONFIG error. */
export function parseConfigFile(source: string, file: string): ConfigFile {
  const { config, problems } = checkConfigFile(source, file);
  if (problems.length > 0 || config === undefined) throw invalid(file, problems);
  return config;
}

function lineAndColumn(problem: string): [number, number] {
  const match = /^\S*?:(\d+):(\d+) /.exec(problem);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/** One CONFIG error listing every problem, one per line, in the order they appear in the file. */
export function invalid(file: string, problems: readonly string[]): GcrsyncError {
  const sorted = [...problems].sort((a, b) => {
    const [la, ca] = lineAndColumn(a);
    const [lb, cb] = lineAndColumn(b);
    return la - lb || ca - cb;
  });
  return new GcrsyncError('CONFIG', `${file} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${sorted.join('\n  ')}`, { ref: file, problems: sorted });
}

async function readConfigText(file: string, signal: AbortSignal): Promise<string> {
  try {
    return await readFile(file, { encoding: 'utf8', signal });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new GcrsyncError('CONFIG', `cannot read config file ${file}: ${code}`, { ref: file, cause: error });
  }
}

/** Reads a config file; a missing or unreadable file is a CONFIG error naming it. */
export async function loadConfigFile(file: string, signal: AbortSignal): Promise<ConfigFile> {
  return parseConfigFile(await readConfigText(file, signal), file);
}

/** Reads a config file for `config validate`: its schema problems, and what is well shaped (see checkConfigFile). */
export async function loadConfigFileProblems(file: string, signal: AbortSignal): Promise<{ config?: ConfigFile; problems: string[] }> {
  return checkConfigFile(await readConfigText(file, signal), file);
}
