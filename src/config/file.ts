import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { GcrsyncError } from '../errors.js';

/**
 * `gcrsync.yaml`: defaults at the top, then a list of jobs. The file is read with YAML's failsafe schema, so
 * every scalar is text (`3.10` stays `3.10`, `no` stays `no`) and only this module decides what is a number
 * or a boolean. Every unknown key, wrong type or missing field is reported with its path and line:column.
 */

export const CONFIG_FILE_NAME = 'gcrsync.yaml';

/** A command a hook runs: a string goes to `sh -c`, a list is the argv (no shell). */
export interface HookSpec {
  run: string | string[];
  /** a duration (`30s`, `2m`); default in hooks.ts */
  timeout?: string;
}

/** What `defaults` and each job may set; a job's value wins, section by section key. */
export interface SettingsBlock {
  target?: string;
  metadataRepo?: string;
  transport?: string;
  concurrency?: number;
  queryLimit?: number;
  platforms?: string[];
  naming?: { template?: string; separator?: string; rewrite?: Array<{ prefix: string; replacement: string }> };
  filters?: { include?: string[]; exclude?: string[]; semver?: string; newerThan?: string; stableOnly?: boolean; newest?: number };
  hooks?: { beforeRepository?: HookSpec; afterPush?: HookSpec };
}

/** One source line of a job, before anything is listed. */
export type SourceEntry =
  | { kind: 'namespace'; location: string; api?: 'google' | 'quay' | 'docker-hub' | 'catalog'; path: string }
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

// ---------- shapes ----------

type Shape =
  | { kind: 'string' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'boolean' }
  | { kind: 'list'; of: Shape }
  | { kind: 'map'; fields: Record<string, Shape>; required?: string[] }
  /** a string or a list (argv), a string or a map (shorthand): chosen by the node's kind */
  | { kind: 'either'; scalar?: Shape; list?: Shape; map?: Shape; describe: string };

const text: Shape = { kind: 'string' };
const texts: Shape = { kind: 'list', of: text };
const hook: Shape = {
  kind: 'either',
  scalar: text,
  map: { kind: 'map', fields: { run: { kind: 'either', scalar: text, list: texts, describe: 'a shell command or an argv list' }, timeout: text }, required: ['run'] },
  describe: 'a shell command, or { run, timeout }',
};
const settingsFields: Record<string, Shape> = {
  target: text,
  metadataRepo: text,
  transport: text,
  concurrency: { kind: 'integer', min: 1, max: 1000 },
  queryLimit: { kind: 'integer', min: 1, max: 1000 },
  platforms: { kind: 'either', scalar: text, list: texts, describe: 'a platform or a list of os/arch[/variant]' },
  naming: {
    kind: 'map',
    fields: {
      template: text,
      separator: text,
      rewrite: { kind: 'list', of: { kind: 'map', fields: { prefix: text, replacement: text }, required: ['prefix', 'replacement'] } },
    },
  },
  filters: {
    kind: 'map',
    fields: {
      include: { kind: 'either', scalar: text, list: texts, describe: 'a regular expression or a list of them' },
      exclude: { kind: 'either', scalar: text, list: texts, describe: 'a regular expression or a list of them' },
      semver: text,
      newerThan: text,
      stableOnly: { kind: 'boolean' },
      newest: { kind: 'integer', min: 1, max: 100_000 },
    },
  },
  hooks: { kind: 'map', fields: { beforeRepository: hook, afterPush: hook } },
};
const sourceShape: Shape = {
  kind: 'either',
  scalar: text,
  map: {
    kind: 'map',
    fields: { namespace: text, api: text, repositories: texts, images: texts, imageList: text },
  },
  describe: 'REGISTRY/NAMESPACE, or one of { namespace[, api] }, { namespace, repositories }, { images }, { imageList }',
};
const jobShape: Shape = {
  kind: 'map',
  fields: { name: text, source: sourceShape, sources: { kind: 'list', of: sourceShape }, examples: texts, ...settingsFields },
  required: ['name'],
};
const fileShape: Shape = {
  kind: 'map',
  fields: { version: { kind: 'integer', min: 1, max: 1 }, defaults: { kind: 'map', fields: settingsFields }, jobs: { kind: 'list', of: jobShape } },
  required: ['jobs'],
};

// ---------- walking the document ----------

interface Walk {
  doc: Document;
  lines: LineCounter;
  file: string;
  problems: string[];
  positions: Map<string, string>;
}

function position(walk: Walk, offset: number | undefined): string {
  if (offset === undefined) return walk.file;
  const { line, col } = walk.lines.linePos(offset);
  return `${walk.file}:${line}:${col}`;
}

function problem(walk: Walk, node: Node | null | undefined, path: string, message: string): void {
  walk.problems.push(`${position(walk, node?.range?.[0])} ${path === '' ? 'top level' : path}: ${message}`);
}

function kindOf(node: Node | null | undefined): 'empty' | 'scalar' | 'list' | 'map' {
  if (node === null || node === undefined) return 'empty';
  if (isMap(node)) return 'map';
  if (isSeq(node)) return 'list';
  if (isScalar(node) && (node.value === null || (node.value === '' && node.type === 'PLAIN'))) return 'empty';
  return 'scalar';
}

const article = { empty: 'nothing', list: 'a list', map: 'a mapping' } as const;

function describeShape(shape: Shape): string {
  switch (shape.kind) {
    case 'string':
      return 'a string';
    case 'integer':
      return shape.min === shape.max ? `${shape.min}` : `a whole number from ${shape.min} to ${shape.max}`;
    case 'boolean':
      return 'true or false';
    case 'list':
      return 'a list';
    case 'map':
      return 'a mapping';
    case 'either':
      return shape.describe;
  }
}

/** Converts `node` to plain data by `shape`, recording problems instead of throwing so all are reported at once. */
function read(walk: Walk, raw: Node | null | undefined, shape: Shape, path: string): unknown {
  const node = isAlias(raw) ? (raw.resolve(walk.doc) as Node | undefined) : raw;
  if (node?.range) walk.positions.set(path, position(walk, node.range[0]));
  const kind = kindOf(node);
  const got = kind === 'scalar' ? JSON.stringify(String((node as { value: unknown }).value)) : article[kind];
  const expected = () => problem(walk, node ?? raw, path, `expected ${describeShape(shape)}, got ${got}`);
  switch (shape.kind) {
    case 'string': {
      if (kind !== 'scalar') return expected();
      return String((node as { value: unknown }).value);
    }
    case 'integer': {
      const value = kind === 'scalar' ? String((node as { value: unknown }).value) : '';
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= shape.min && n <= shape.max)) return expected();
      return n;
    }
    case 'boolean': {
      const value = kind === 'scalar' ? String((node as { value: unknown }).value) : '';
      if (value !== 'true' && value !== 'false') return expected();
      return value === 'true';
    }
    case 'list': {
      if (kind !== 'list' || !isSeq(node)) return expected();
      return node.items.map((item, index) => read(walk, item as Node, shape.of, `${path}[${index}]`));
    }
    case 'map': {
      if (kind !== 'map' || !isMap(node)) return expected();
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node;
        const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
        const where = path === '' ? (key ?? '?') : `${path}.${key ?? '?'}`;
        if (key === undefined) {
          problem(walk, keyNode, path, 'keys must be plain names');
          continue;
        }
        const field = Object.hasOwn(shape.fields, key) ? shape.fields[key] : undefined;
        if (field === undefined) {
          problem(walk, keyNode, where, `unknown key (known here: ${Object.keys(shape.fields).join(', ')})`);
          continue;
        }
        out[key] = read(walk, pair.value as Node, field, where);
      }
      for (const required of shape.required ?? []) {
        if (!Object.hasOwn(out, required)) problem(walk, node, path, `${required} is required`);
      }
      return out;
    }
    case 'either': {
      const chosen = kind === 'scalar' ? shape.scalar : kind === 'list' ? shape.list : kind === 'map' ? shape.map : undefined;
      if (chosen === undefined) return expected();
      return read(walk, node, chosen, path);
    }
  }
}

// ---------- from plain data to typed entries ----------

const toList = (value: unknown): string[] | undefined => (value === undefined ? undefined : typeof value === 'string' ? [value] : (value as string[]));

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function hookOf(value: unknown): HookSpec | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return { run: value };
  const spec = value as { run: string | string[]; timeout?: string };
  return definedOnly({ run: spec.run, timeout: spec.timeout });
}

function settingsOf(raw: Record<string, unknown>): SettingsBlock {
  const naming = raw.naming as SettingsBlock['naming'];
  const filters = raw.filters as Record<string, unknown> | undefined;
  const hooks = raw.hooks as Record<string, unknown> | undefined;
  return definedOnly({
    target: raw.target as string | undefined,
    metadataRepo: raw.metadataRepo as string | undefined,
    transport: raw.transport as string | undefined,
    concurrency: raw.concurrency as number | undefined,
    queryLimit: raw.queryLimit as number | undefined,
    platforms: toList(raw.platforms),
    naming: naming === undefined ? undefined : definedOnly(naming),
    filters:
      filters === undefined
        ? undefined
        : definedOnly({ ...(filters as SettingsBlock['filters']), include: toList(filters.include), exclude: toList(filters.exclude) }),
    hooks: hooks === undefined ? undefined : definedOnly({ beforeRepository: hookOf(hooks.beforeRepository), afterPush: hookOf(hooks.afterPush) }),
  });
}

const SOURCE_KEYS = ['repositories', 'images', 'imageList'] as const;
const NAMESPACE_APIS = ['google', 'quay', 'docker-hub', 'catalog'] as const;
const JOB_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A source entry, or the reason it is not one (with the key the reason is about). */
function sourceOf(value: unknown, path: string, baseDir: string): SourceEntry | { key: string; why: string } {
  if (typeof value === 'string') return { kind: 'namespace', location: value, path };
  const spec = value as { namespace?: string; api?: string; repositories?: string[]; images?: string[]; imageList?: string };
  const kinds = SOURCE_KEYS.filter((k) => spec[k] !== undefined);
  if (kinds.length > 1) return { key: kinds[1]!, why: `give one of ${SOURCE_KEYS.join(', ')} per source, not ${kinds.join(' and ')}` };
  if (spec.api !== undefined && !(NAMESPACE_APIS as readonly string[]).includes(spec.api)) {
    return { key: 'api', why: `api must be one of ${NAMESPACE_APIS.join(', ')}, got ${JSON.stringify(spec.api)}` };
  }
  if (spec.api !== undefined && kinds.length > 0) return { key: 'api', why: 'api applies to a namespace source only' };
  switch (kinds[0]) {
    case undefined:
      if (spec.namespace === undefined) return { key: '', why: 'a source needs namespace, repositories, images or imageList' };
      return definedOnly({ kind: 'namespace' as const, location: spec.namespace, api: spec.api as (typeof NAMESPACE_APIS)[number] | undefined, path });
    case 'repositories':
      if (spec.namespace === undefined) return { key: 'repositories', why: 'repositories are named under a namespace: add namespace: REGISTRY/NAMESPACE' };
      return { kind: 'repositories', location: spec.namespace, repositories: spec.repositories!, path };
    case 'images':
      if (spec.namespace !== undefined) return { key: 'namespace', why: 'images are full references; drop namespace' };
      return { kind: 'images', images: spec.images!, path };
    case 'imageList':
      if (spec.namespace !== undefined) return { key: 'namespace', why: 'an image list holds full references; drop namespace' };
      return { kind: 'imageList', file: isAbsolute(spec.imageList!) ? spec.imageList! : resolve(baseDir, spec.imageList!), path };
  }
}

function jobOf(walk: Walk, raw: Record<string, unknown>, path: string, baseDir: string): JobEntry | undefined {
  const name = raw.name as string | undefined;
  if (name === undefined) return undefined;
  if (!JOB_NAME.test(name)) {
    walk.problems.push(`${walk.positions.get(`${path}.name`) ?? walk.file} ${path}.name: ${JSON.stringify(name)} must be lowercase letters, digits, . _ - (at most 63)`);
  }
  const listed = raw.sources as unknown[] | undefined;
  if (raw.source !== undefined && listed !== undefined) {
    walk.problems.push(`${walk.positions.get(`${path}.sources`) ?? walk.file} ${path}: give source or sources, not both`);
  }
  const entries = listed !== undefined ? listed.map((v, i) => [v, `${path}.sources[${i}]`] as const) : raw.source !== undefined ? [[raw.source, `${path}.source`] as const] : [];
  if (entries.length === 0) walk.problems.push(`${walk.positions.get(path) ?? walk.file} ${path}: job ${JSON.stringify(name)} has no source (source or sources)`);
  const sources: SourceEntry[] = [];
  for (const [value, where] of entries) {
    if (value === undefined) continue; // already reported as the wrong shape
    const entry = sourceOf(value, where, baseDir);
    if ('kind' in entry) sources.push(entry);
    else {
      const at = entry.key === '' ? where : `${where}.${entry.key}`;
      walk.problems.push(`${walk.positions.get(at) ?? walk.positions.get(where) ?? walk.file} ${where}: ${entry.why}`);
    }
  }
  return { name, sources, examples: (raw.examples as string[] | undefined) ?? [], settings: settingsOf(raw), path };
}

/** Parses and checks the text of a config file; every problem is reported at once in one CONFIG error. */
export function parseConfigFile(source: string, file: string): ConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(source, { schema: 'failsafe', lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const walk: Walk = { doc, lines, file, problems: [], positions: new Map() };
  for (const error of doc.errors) walk.problems.push(`${position(walk, error.pos[0])} ${error.message.split('\n')[0]}`);
  // a document YAML could not parse has no trustworthy tree to check further
  if (walk.problems.length > 0) throw invalid(file, walk.problems);
  const raw = read(walk, doc.contents as Node | null, fileShape, '') as Record<string, unknown> | undefined;
  if (raw === undefined) throw invalid(file, walk.problems);
  const baseDir = dirname(resolve(file));
  const defaults = settingsOf((raw.defaults as Record<string, unknown> | undefined) ?? {});
  const jobs: JobEntry[] = [];
  for (const [index, job] of ((raw.jobs as Array<Record<string, unknown> | undefined> | undefined) ?? []).entries()) {
    const entry = job === undefined ? undefined : jobOf(walk, job, `jobs[${index}]`, baseDir);
    if (entry !== undefined) jobs.push(entry);
  }
  if (Array.isArray(raw.jobs) && raw.jobs.length === 0) walk.problems.push(`${walk.positions.get('jobs') ?? file} jobs: the list is empty`);
  const seen = new Map<string, string>();
  for (const job of jobs) {
    const earlier = seen.get(job.name);
    if (earlier !== undefined) walk.problems.push(`${walk.positions.get(`${job.path}.name`) ?? file} ${job.path}.name: ${JSON.stringify(job.name)} is also the name of ${earlier}`);
    seen.set(job.name, job.path);
  }
  if (walk.problems.length > 0) throw invalid(file, walk.problems);
  const positions = walk.positions;
  return { file, defaults, jobs, where: (path) => positions.get(path) ?? file };
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
  return new GcrsyncError('CONFIG', `${file} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${sorted.join('\n  ')}`, { ref: file });
}

/**
 * The config file a command uses: `--config`, else GCRSYNC_CONFIG (both must exist), else `gcrsync.yaml` in
 * the working directory when there is one; undefined means flags and environment only.
 */
export async function locateConfigFile(explicit: string | undefined, env: Record<string, string | undefined>, cwd: string): Promise<string | undefined> {
  const named = explicit ?? env.GCRSYNC_CONFIG;
  if (named !== undefined) return resolve(cwd, named);
  const fallback = resolve(cwd, CONFIG_FILE_NAME);
  try {
    await access(fallback);
    return fallback;
  } catch {
    return undefined;
  }
}

/** Reads a config file; a missing or unreadable file is a CONFIG error naming it. */
export async function loadConfigFile(file: string, signal?: AbortSignal): Promise<ConfigFile> {
  let source: string;
  try {
    source = await readFile(file, { encoding: 'utf8', ...(signal !== undefined && { signal }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new GcrsyncError('CONFIG', `cannot read config file ${file}: ${code}`, { ref: file, cause: error });
  }
  return parseConfigFile(source, file);
}
