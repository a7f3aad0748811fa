import type { ConfigFile, HookSpec, SettingsBlock, SourceEntry } from './file.js';
import { parseDuration, runLimits } from './run-limits.js';
import { COMMAND_LINE_KEYS, SETTINGS, type CommandLineKey, type CommandLineValues } from './schema.js';
import { resolveAccess, type AccessFlags, type JobAccess } from './network.js';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { tagFilterProblems, type TagFilterRules } from './filters.js';
import { checkNamingRules, DEFAULT_NAMING, type NamingRules, type TargetLocation } from '../ref/naming.js';
import { formatReference, parseLocation, parseReference, type Reference } from '../ref/reference.js';
import { validateSourceSpec, type NamespaceSpec, type RepositoriesSpec } from '../sources/source-spec.js';
import type { HookCommand, JobOptions, JobSource, JobsOptions } from './job-options.js';
import { parsePlatformFilter } from '../transports/platform-filter.js';

/**
 * The raw flags, as yargs hands them over: the flags of the settings in schema.ts (`--query-limit` as
 * `queryLimit`, checked by the setting's schema like its environment variable and file value), and these.
 */
export interface RawFlags extends AccessFlags {
  [settingFlag: string]: unknown;
  source?: string;
  namespace?: string;
  dryRun?: boolean;
  json?: boolean;
  username?: string;
  password?: string;
  insecureRegistry?: string[] | string;
  verbose?: boolean;
  quiet?: boolean;
  shard?: string;
  maxDuration?: string;
  checkpointEvery?: string;
  maxTags?: string;
  maxRepositories?: string;
  report?: string;
  notify?: string;
  notifyOn?: string;
}

function usage(message: string, ref?: string): GcrsyncError {
  return new GcrsyncError('USAGE', message, ref === undefined ? {} : { ref });
}

// ---------- jobs: config file + GCRSYNC_* environment + flags ----------

export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;

/** The flags a jobs command adds to the run flags. */
export interface JobFlags extends RawFlags {
  config?: string;
  job?: string;
}

/** A value and where it came from (`--target`, `GCRSYNC_TARGET`, `gcrsync.yaml:4:11 jobs[0].target`). */
interface Sourced<T> {
  value: T;
  origin: string;
}

class Problems {
  readonly lines: string[] = [];
  /** every problem found, repeats included, so a caller can tell whether its own checks failed */
  found = 0;
  /** runs `check`; a GcrsyncError it throws becomes a line prefixed with the value's origin */
  check<T>(origin: string, check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      if (!isGcrsyncError(error)) throw error;
      this.add(origin, error.message);
      return undefined;
    }
  }
  /** a bad default is reported once, not once per job */
  add(origin: string, message: string): void {
    const line = `${origin}: ${message}`;
    this.found += 1;
    if (!this.lines.includes(line)) this.lines.push(line);
  }
}

/**
 * `parseLocation` for a value a person typed: credentials written into it (`https://user:pass@host/x`) are refused
 * without repeating them, since the parser's own message would quote the whole value.
 */
function parseLocationText(text: string): { registry: string; path: string } {
  const host = text.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  if (host.includes('@')) {
    throw new GcrsyncError('USAGE', `a registry location must not carry credentials (user:password@host): give them with --username/--password, GCRSYNC_USERNAME/GCRSYNC_PASSWORD or docker login`);
  }
  return parseLocation(text);
}

function splitList(value: string[] | string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return ([] as string[])
    .concat(value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const camelCase = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Looks the layers up in precedence order; each layer is [value, origin]. */
function pick<T>(...layers: Array<[T | undefined, string]>): Sourced<T> | undefined {
  for (const [value, origin] of layers) if (value !== undefined) return { value, origin };
  return undefined;
}

function mergeSettings(defaults: SettingsBlock, job: SettingsBlock): SettingsBlock {
  return {
    ...defaults,
    ...job,
    naming: { ...defaults.naming, ...job.naming },
    filters: { ...defaults.filters, ...job.filters },
    hooks: { ...defaults.hooks, ...job.hooks },
    tls: { ...defaults.tls, ...job.tls },
    credentials: { ...defaults.credentials, ...job.credentials },
  };
}

function parseImage(text: string): Reference {
  const reference = parseReference(text);
  if (reference.tag === undefined && reference.digest !== undefined) {
    throw new GcrsyncError('BAD_REFERENCE', `${JSON.stringify(text)} names a digest without a tag; gcrsync mirrors tags (write name:tag@digest)`, { ref: text });
  }
  return reference;
}

function sourceFromEntry(entry: SourceEntry, problems: Problems, origin: string): JobSource | undefined {
  switch (entry.kind) {
    case 'namespace':
    case 'repositories': {
      const location = problems.check(origin, () => parseLocationText(entry.location));
      if (location === undefined) return undefined;
      const spec: NamespaceSpec | RepositoriesSpec =
        entry.kind === 'namespace'
          ? { kind: 'namespace', registry: location.registry, namespace: location.path, ...(entry.api !== undefined && { api: entry.api }) }
          : { kind: 'repositories', registry: location.registry, namespace: location.path, repositories: entry.repositories };
      return problems.check(origin, () => (validateSourceSpec(spec), { kind: 'spec' as const, spec }));
    }
    case 'images': {
      const references = entry.images.map((image) => problems.check(origin, () => parseImage(image)));
      if (references.some((r) => r === undefined)) return undefined;
      return { kind: 'images', references: references as Reference[] };
    }
    case 'imageList':
      return { kind: 'imageList', file: entry.file };
  }
}

function hookFrom(spec: HookSpec | undefined, problems: Problems, origin: string): HookCommand | undefined {
  if (spec === undefined) return undefined;
  const empty = typeof spec.run === 'string' ? spec.run.trim() === '' : spec.run.length === 0 || spec.run[0]!.trim() === '';
  if (empty) return problems.add(origin, 'the hook command is empty'), undefined;
  const timeoutMs = spec.timeout === undefined ? DEFAULT_HOOK_TIMEOUT_MS : problems.check(origin, () => parseDuration('timeout', spec.timeout!));
  return timeoutMs === undefined ? undefined : { run: spec.run, timeoutMs };
}

interface JobLayers {
  name: string;
  settings: SettingsBlock;
  sources: Array<{ entry: SourceEntry; origin: string }>;
  examples: string[];
  /** config path of the job's values (`jobs[0]`), or undefined for a job made from flags */
  path?: string;
}

/** Resolves one job; every problem goes to `problems` with the origin of the bad value. */
function resolveJob(job: JobLayers, file: ConfigFile | undefined, flags: JobFlags, env: Record<string, string | undefined>, problems: Problems): JobOptions | undefined {
  const fileOrigin = (key: string): string => {
    if (file === undefined) return key;
    // the job's own key when it set one, else the defaults' (sections merge key by key, so this names the closer one)
    const own = job.path === undefined ? undefined : `${job.path}.${key}`;
    const path = own !== undefined && file.where(own) !== file.file ? own : `defaults.${key}`;
    return `${file.where(path)} ${path}`;
  };
  const settings = job.settings;
  const before = problems.found;

  // every setting the command line can set: the first layer that sets it, checked by the setting's schema
  const chosen: { [K in CommandLineKey]?: Sourced<unknown> } = {};
  const values: Record<string, unknown> = {};
  for (const key of COMMAND_LINE_KEYS) {
    const setting = SETTINGS[key];
    const layer = pick<unknown>([flags[camelCase(setting.flag)], `--${setting.flag}`], [env[setting.env], setting.env], [settings[key], fileOrigin(key)]);
    if (layer === undefined) {
      if ('default' in setting) values[key] = setting.default;
      continue;
    }
    const parsed = setting.schema.safeParse(layer.value);
    if (!parsed.success) problems.add(layer.origin, parsed.error.issues[0]!.message);
    else chosen[key] = { value: (values[key] = parsed.data), origin: layer.origin };
  }
  const { target: _target, platforms: _platforms, ...resolved } = values as CommandLineValues;

  const targetText = chosen.target as Sourced<string> | undefined;
  let target: TargetLocation | undefined;
  if (targetText === undefined) problems.add(`job ${job.name}`, 'a target is required: --target REGISTRY[/PREFIX] or target: in the config file');
  else {
    const location = problems.check(targetText.origin, () => parseLocationText(targetText.value));
    if (location !== undefined) target = { registry: location.registry, path: location.path };
  }
  const platformList = chosen.platforms as Sourced<string[]> | undefined;
  const platforms = splitList(platformList?.value) ?? [];
  for (const platform of platforms) problems.check(platformList!.origin, () => parsePlatformFilter(platform));

  const naming: NamingRules = {
    template: settings.naming?.template ?? DEFAULT_NAMING.template,
    rewrite: settings.naming?.rewrite ?? [],
    ...(settings.naming?.separator !== undefined && { separator: settings.naming.separator }),
  };
  problems.check(fileOrigin('naming'), () => checkNamingRules(naming));
  const filters: TagFilterRules = { ...settings.filters };
  for (const problem of tagFilterProblems(filters)) problems.add(fileOrigin('filters'), problem);
  const beforeRepository = hookFrom(settings.hooks?.beforeRepository, problems, fileOrigin('hooks.beforeRepository'));
  const afterPush = hookFrom(settings.hooks?.afterPush, problems, fileOrigin('hooks.afterPush'));

  const sources = job.sources.map(({ entry, origin }) => sourceFromEntry(entry, problems, origin));
  const examples = job.examples.map((text) => problems.check(fileOrigin('examples'), () => parseImage(text)));
  for (const example of examples) {
    if (example !== undefined && example.tag === undefined) problems.add(fileOrigin('examples'), `example ${formatReference(example)} needs a tag`);
  }
  if (problems.found > before || target === undefined) return undefined;
  return {
    name: job.name,
    sources: sources as JobSource[],
    target,
    ...resolved,
    platforms,
    referrers: settings.referrers ?? true,
    naming,
    filters,
    hooks: { ...(beforeRepository !== undefined && { beforeRepository }), ...(afterPush !== undefined && { afterPush }) },
    examples: examples as Reference[],
    tls: settings.tls ?? {},
    credentials: settings.credentials ?? {},
    ...(settings.verify !== undefined && { verify: settings.verify }),
  };
}

function commandLineSource(flags: JobFlags, env: Record<string, string | undefined>): { entry: SourceEntry; origin: string } | undefined {
  if (flags.source !== undefined && flags.namespace !== undefined) throw usage('give --source or --namespace, not both');
  if (flags.source !== undefined) return { entry: { kind: 'namespace', location: flags.source, path: '--source' }, origin: '--source' };
  if (flags.namespace !== undefined) return { entry: { kind: 'namespace', location: `gcr.io/${flags.namespace}`, path: '--namespace' }, origin: '--namespace' };
  if (env.GCRSYNC_SOURCE !== undefined) return { entry: { kind: 'namespace', location: env.GCRSYNC_SOURCE, path: 'GCRSYNC_SOURCE' }, origin: 'GCRSYNC_SOURCE' };
  return undefined;
}

/** The namespace `--source`, `--namespace` or GCRSYNC_SOURCE names, if any (`monitor` looks its recorded target up). */
export function commandLineLocation(flags: JobFlags, env: Record<string, string | undefined>): { registry: string; path: string } | undefined {
  const given = commandLineSource(flags, env);
  return given?.entry.kind === 'namespace' ? parseLocationText(given.entry.location) : undefined;
}

/** What a job tells the command about the registries it reaches. */
function accessOf(job: JobOptions): JobAccess {
  const registries = job.sources.map((s) => (s.kind === 'spec' ? [s.spec.registry] : s.kind === 'images' ? s.references.map((r) => r.registry) : undefined));
  return {
    name: job.name,
    ...(job.proxy !== undefined && { proxy: job.proxy }),
    tls: job.tls,
    credentials: job.credentials,
    sourceRegistries: registries.some((r) => r === undefined) ? undefined : [...new Set(registries.flatMap((r) => r ?? []))],
  };
}

/** The name of a job made from the command line (a source given by flag or environment). */
export const COMMAND_LINE_JOB = 'command-line';

/**
 * The jobs a command runs, resolved and validated at once (pure, so tested with tables):
 * - a source on the command line (`--source`, `--namespace`, GCRSYNC_SOURCE) makes one job from the file's
 *   defaults (or from `--job`'s settings) with that source;
 * - otherwise every job of the file, or only `--job NAME`;
 * - every value: flags > GCRSYNC_* environment > the job > the file's defaults.
 * Every problem is reported at once: USAGE when there is no config file, else CONFIG.
 */
export function resolveJobs(
  file: ConfigFile | undefined,
  flags: JobFlags,
  env: Record<string, string | undefined>,
  /** a source given some other way than --source (`copy SRC`), with a name for messages */
  given?: { entry: SourceEntry; origin: string },
): JobsOptions {
  const problems = new Problems();
  const commandLine = given ?? commandLineSource(flags, env);
  const jobName = flags.job ?? env.GCRSYNC_JOB;
  let layers: JobLayers[];
  const named = file?.jobs.find((j) => j.name === jobName);
  if (jobName !== undefined && named === undefined) {
    const known = file === undefined ? 'there is no config file' : `the jobs of ${file.file} are ${file.jobs.map((j) => j.name).join(', ')}`;
    throw new GcrsyncError(file === undefined ? 'USAGE' : 'CONFIG', `no job named ${JSON.stringify(jobName)} (${known})`, { ref: jobName });
  }
  if (commandLine !== undefined) {
    const settings = mergeSettings(file?.defaults ?? {}, named?.settings ?? {});
    layers = [{ name: named?.name ?? COMMAND_LINE_JOB, settings, sources: [commandLine], examples: named?.examples ?? [], ...(named !== undefined && { path: named.path }) }];
  } else if (file === undefined) {
    throw usage('a source is required: --source REGISTRY/NAMESPACE (or --namespace NS for gcr.io/NS), or a gcrsync.yaml with jobs');
  } else {
    const chosen = named === undefined ? file.jobs : [named];
    layers = chosen.map((j) => ({
      name: j.name,
      settings: mergeSettings(file.defaults, j.settings),
      sources: j.sources.map((entry) => ({ entry, origin: `${file.where(entry.path)} ${entry.path}` })),
      examples: j.examples,
      path: j.path,
    }));
  }
  const jobs = layers.map((layer) => resolveJob(layer, file, flags, env, problems));

  const resolvedJobs = jobs.filter((j): j is JobOptions => j !== undefined);
  const access = resolveAccess(resolvedJobs.map(accessOf), flags, env, (origin, message) => problems.add(origin, message));
  const username = flags.username ?? env.GCRSYNC_USERNAME;
  const password = flags.password ?? env.GCRSYNC_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    problems.add('credentials', 'target credentials need both a username and a password (--username/--password or GCRSYNC_USERNAME/GCRSYNC_PASSWORD)');
  }
  if (username !== undefined && flags.destCreds !== undefined) problems.add('--dest-creds', 'give --dest-creds or --username/--password, not both');
  const targetCredentials = access.targetCredentials ?? (username !== undefined && password !== undefined ? { username, password } : undefined);
  const targetRegistries = [...new Set(resolvedJobs.map((j) => j.target.registry))];
  if (targetCredentials !== undefined && targetRegistries.length > 1) {
    // one username/password pair sent to several registries would hand one registry's secret to another
    problems.add('credentials', `--dest-creds, --username/--password (or GCRSYNC_USERNAME/GCRSYNC_PASSWORD) are for one registry, but the jobs target ${targetRegistries.join(', ')}; run one --job at a time, or give credentials: per registry in the config file`);
  }
  const limits = problems.check('run limits', () => runLimits(flags, env)) ?? {};
  if (problems.lines.length > 0) {
    const header = file === undefined ? 'invalid command line' : `${file.file} is not valid`;
    const message = `${header} (${problems.lines.length} problem${problems.lines.length === 1 ? '' : 's'}):\n  ${problems.lines.join('\n  ')}`;
    throw new GcrsyncError(file === undefined ? 'USAGE' : 'CONFIG', file === undefined && problems.lines.length === 1 ? problems.lines[0]! : message, {
      ...(file !== undefined && { ref: file.file }),
      problems: problems.lines,
    });
  }
  const insecure = flags.insecureRegistry === undefined ? [] : ([] as string[]).concat(flags.insecureRegistry);
  return {
    ...(file !== undefined && { configFile: file.file }),
    jobs: jobs as JobOptions[],
    dryRun: flags.dryRun ?? false,
    json: flags.json ?? false,
    ...(targetCredentials !== undefined && { targetCredentials }),
    network: access.network,
    credentials: access.credentials,
    ...(access.authFile !== undefined && { authFile: access.authFile }),
    insecureRegistries: insecure.flatMap((h) => h.split(',')).map((h) => h.trim()).filter((h) => h !== ''),
    logLevel: flags.verbose ? 'debug' : flags.quiet ? 'warn' : 'info',
    ...limits,
  };
}
