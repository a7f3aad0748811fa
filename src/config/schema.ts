import * as z from 'zod';

/**
 * `gcrsync.yaml` described once. This schema gives the TypeScript types (SettingsBlock, JobOptions' values),
 * the validation of the file (file.ts adds line:column), the parsing of flags and GCRSYNC_* values of the same
 * settings (settings.ts), the yargs flags (cmd/options.ts) and gcrsync.schema.json for editors
 * (`npm run schema` writes it; a unit test fails when the committed file is stale).
 *
 * Adding a key: one entry in SETTINGS below. With `flag`/`env` it becomes a flag and an environment variable,
 * is resolved by precedence (flags > GCRSYNC_* > job > defaults) and lands in JobOptions under its key, with
 * `default` when nothing sets it; without them it is a file-only key that resolveJob reads from the settings.
 * Then `npm run schema` and a line in docs/targets.md.
 *
 * The file is read with YAML's failsafe schema, so a scalar arrives as text (`3.10` stays `3.10`, `no` stays
 * `no`): integers and booleans accept their text form here. Every message is complete (`expected …, got …`),
 * so file.ts only adds where.
 */

/** How a value is named in a message: text as text, since that is what YAML and the environment give. */
export function shown(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(String(value));
}

const expected = (what: string) => (issue: { input?: unknown }) => `expected ${what}, got ${shown(issue.input)}`;

const text = (what = 'a string') => z.string({ error: expected(what) });

function integer(min: number, max: number) {
  const error = expected(min === max ? `${min}` : `a whole number from ${min} to ${max}`);
  return z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.int({ error }).min(min, { error }).max(max, { error }));
}

const flag = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: expected('true or false') }));

const list = <T extends z.ZodType>(of: T) => z.array(of, { error: expected('a list') });

/** One string or a list of them; always a list once read. */
const oneOrMore = (what: string) => z.union([text(), list(text())], { error: expected(what) }).transform((v) => (typeof v === 'string' ? [v] : v));

/** A mapping with these keys only; an unknown key is named with the known ones. */
function map<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key (known here: ${Object.keys(shape).join(', ')})` : expected('a mapping')(issue)),
  });
}

const hook = z
  .union([text(), map({ run: z.union([text(), list(text())], { error: expected('a shell command or an argv list') }), timeout: text().optional() })], {
    error: expected('a shell command, or { run, timeout }'),
  })
  .transform((v) => (typeof v === 'string' ? { run: v } : v))
  .describe('a string runs under sh -c; { run: [argv…] } runs without a shell; timeout: a duration (default 60s)');

/** Where a registry's user name and password come from: never the password itself, so no secret sits in the file. */
const credentialSource = map({
  username: text().optional().describe('the user name'),
  usernameEnv: text().optional().describe('environment variable holding the user name'),
  passwordEnv: text().optional().describe('environment variable holding the password'),
  passwordFile: text().optional().describe('file holding the password (one trailing newline is dropped)'),
}).superRefine((c, ctx) => {
  if (typeof c !== 'object' || c === null) return;
  if ((c.username === undefined) === (c.usernameEnv === undefined)) ctx.addIssue({ code: 'custom', message: 'give username or usernameEnv (one of them)', path: [] });
  if ((c.passwordEnv === undefined) === (c.passwordFile === undefined)) ctx.addIssue({ code: 'custom', message: 'give passwordEnv or passwordFile (one of them)', path: [] });
});
export type CredentialSource = z.output<typeof credentialSource>;

const perRegistry = <T extends z.ZodType>(value: T) => z.record(text('a registry host[:port]'), value, { error: expected('a mapping of registry host[:port] to values') });

export const TLS_MODES = ['verify', 'skip-verify', 'http'] as const;

const VERIFY_EXPECTED = 'always, never, or a fraction from 0 to 1 such as 1/7 or 0.25';

/** `always`, `never`, or the share of the records a sync checks at the target (a rolling share per day). */
const verifyPolicy = text(VERIFY_EXPECTED).transform((value, ctx): 'always' | 'never' | number => {
  if (value === 'always' || value === 'never') return value;
  const ratio = /^(\d+)\/(\d+)$/.exec(value);
  const share = ratio !== null ? Number(ratio[1]) / Number(ratio[2]) : /^(?:\d+\.?\d*|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
  if (share > 0 && share <= 1) return share;
  ctx.addIssue({ code: 'custom', message: `expected ${VERIFY_EXPECTED}, got ${shown(value)}` });
  return z.NEVER;
});

/** A key of `defaults` and of each job; `flag` (kebab-case) and `env` make it settable from the command line. */
interface Setting<S extends z.ZodType = z.ZodType> {
  schema: S;
  flag?: string;
  env?: string;
  default?: z.output<S>;
}

function setting<S extends z.ZodType, const O extends Omit<Setting<S>, 'schema'>>(schema: S, describe: string, options: O): { schema: S } & O {
  return { schema: schema.describe(describe), ...options };
}

export const SETTINGS = {
  target: setting(text(), 'target REGISTRY[/PREFIX], e.g. docker.io/gcrxio', { flag: 'target', env: 'GCRSYNC_TARGET' }),
  metadataRepo: setting(text(), 'metadata git repo, path or URL (default: the repo of the current directory, when it is a metadata repo)', { flag: 'metadata-repo', env: 'GCRSYNC_METADATA_REPO' }),
  transport: setting(z.enum(['registry', 'docker'], { error: expected('registry or docker') }), 'registry: direct, digest-preserving; docker: through the Docker daemon', {
    flag: 'transport',
    env: 'GCRSYNC_TRANSPORT',
    default: 'registry',
  }),
  concurrency: setting(
    integer(1, 1000),
    'images copied at a time (default: adaptive, 10 up to --connections while the registries are far; docs/targets.md#concurrency)',
    { flag: 'concurrency', env: 'GCRSYNC_CONCURRENCY' },
  ),
  connections: setting(
    integer(1, 1000),
    'most requests in flight to one registry host: each host starts at 32 and adapts up to this (default 64; docs/targets.md#concurrency)',
    { flag: 'connections', env: 'GCRSYNC_CONNECTIONS' },
  ),
  queryLimit: setting(integer(1, 1000), 'registry listing requests at a time', { flag: 'query-limit', env: 'GCRSYNC_QUERY_LIMIT', default: 20 }),
  platforms: setting(oneOrMore('a platform or a list of os/arch[/variant]'), 'os/arch[/variant] to keep (default: every platform)', { flag: 'platform', env: 'GCRSYNC_PLATFORMS' }),
  schema1: setting(
    z.enum(['skip', 'convert'], { error: expected('skip or convert') }),
    'Docker schema1 images: record them as not mirrorable, or convert them to schema2 (docs/targets.md#image-shapes-schema1-foreign-layers-signatures-and-referrers)',
    { flag: 'schema1', env: 'GCRSYNC_SCHEMA1', default: 'skip' },
  ),
  allowNondistributable: setting(flag(), 'upload the bytes of non-distributable (foreign) layers too', {
    flag: 'allow-nondistributable',
    env: 'GCRSYNC_ALLOW_NONDISTRIBUTABLE',
    default: false,
  }),
  referrers: setting(flag(), 'copy the OCI 1.1 referrers (signatures, attestations, SBOMs) of each copied image (default true)', {}),
  naming: setting(
    map({
      template: text().optional().describe('over {registry} {namespace} {repo} {path} {tag}; default "{path}"'),
      separator: text().optional().describe('flattens every "/" left after the rewrites: . _ __ or dashes'),
      rewrite: list(map({ prefix: text(), replacement: text() })).optional().describe('ordered prefix rewrites, first match wins'),
    }),
    'how a source image is named at the target (docs/targets.md#naming)',
    {},
  ),
  filters: setting(
    map({
      include: oneOrMore('a regular expression or a list of them').optional().describe('a tag must match one of these regular expressions'),
      exclude: oneOrMore('a regular expression or a list of them').optional().describe('a tag matching any of these regular expressions is dropped'),
      semver: text().optional().describe('a semver range, e.g. ">=1.28.0 <1.31"'),
      newerThan: text().optional().describe('only tags newer (semver order) than this one'),
      stableOnly: flag().optional().describe('drop latest and alpha/beta/rc tags (on by default with newerThan)'),
      newest: integer(1, 100_000).optional().describe('keep the newest N tags per repository'),
    }),
    'which tags are mirrored (docs/targets.md#filters)',
    {},
  ),
  proxy: setting(text('a proxy URL'), 'proxy URL for every registry and API request (default: HTTPS_PROXY/HTTP_PROXY; NO_PROXY still exempts)', {
    flag: 'proxy',
    env: 'GCRSYNC_PROXY',
  }),
  tls: setting(
    perRegistry(z.enum(TLS_MODES, { error: expected(TLS_MODES.join(', ')) })),
    'per registry host[:port]: verify (HTTPS, the default), skip-verify (HTTPS without checking the certificate) or http (docs/targets.md#networks)',
    {},
  ),
  credentials: setting(
    perRegistry(credentialSource),
    'per registry host[:port]: username or usernameEnv, and passwordEnv or passwordFile (docs/targets.md#credentials)',
    {},
  ),
  hooks: setting(
    map({ beforeRepository: hook.optional(), afterPush: hook.optional() }),
    'commands run at the target (docs/targets.md#hooks)',
    {},
  ),
  verify: setting(verifyPolicy, 'which recorded mirrors a sync HEADs at the target to find drift: always, never, or a rolling share per day (default 1/7)', {}),
} satisfies Record<string, Setting>;

type Settings = typeof SETTINGS;
type Optionals<T extends Record<string, { schema: z.ZodType }>> = { [K in keyof T]: z.ZodOptional<T[K]['schema']> };

// an id makes each setting one definition in gcrsync.schema.json, shared by `defaults` and every job
const settingsShape = Object.fromEntries(Object.entries(SETTINGS).map(([key, s]) => [key, s.schema.meta({ id: key }).optional()])) as Optionals<Settings>;
export const settingsSchema = map(settingsShape);

/** What `defaults` and each job may set, as read from the file; a job's value wins, section by section key. */
export type SettingsBlock = z.output<typeof settingsSchema>;

/** The keys the command line can also set. */
export type CommandLineKey = { [K in keyof Settings]: Settings[K] extends { flag: string } ? K : never }[keyof Settings];
/** Their values once resolved: keys with a default always have one. */
export type CommandLineValues = { [K in CommandLineKey as Settings[K] extends { default: unknown } ? K : never]: z.output<Settings[K]['schema']> } & {
  [K in CommandLineKey as Settings[K] extends { default: unknown } ? never : K]?: z.output<Settings[K]['schema']>;
};

export const COMMAND_LINE_KEYS = Object.keys(SETTINGS).filter((key) => 'flag' in SETTINGS[key as keyof Settings]) as CommandLineKey[];

/** A setting's flag for yargs, its type read from the setting's JSON Schema. */
export interface SettingFlag {
  name: string;
  type: 'string' | 'number' | 'boolean';
  array?: true;
  choices?: string[];
  describe: string;
}

export function settingFlags(): SettingFlag[] {
  return COMMAND_LINE_KEYS.map((key) => {
    const setting: Setting = SETTINGS[key];
    const json = z.toJSONSchema(setting.schema, { io: 'input' }) as { type?: string; enum?: string[]; anyOf?: Array<{ type?: string }>; description?: string };
    const array = json.anyOf?.some((alternative) => alternative.type === 'array') === true;
    const type = json.type === 'integer' || json.type === 'number' ? 'number' : json.type === 'boolean' ? 'boolean' : 'string';
    const notes = [...(array ? ['repeat or comma-separate'] : []), ...(setting.default !== undefined ? [`default ${String(setting.default)}`] : []), `or ${setting.env}`];
    return {
      name: setting.flag!,
      type,
      ...(array && { array: true as const }),
      ...(json.enum !== undefined && { choices: json.enum }),
      describe: `${json.description ?? key} (${notes.join('; ')})`,
    };
  });
}

export const NAMESPACE_APIS = ['google', 'quay', 'docker-hub', 'catalog'] as const;
const SOURCE_KINDS = ['repositories', 'images', 'imageList'] as const;
const JOB_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A problem about one key of a source, named at that key's value but under the source's path. */
const sourceProblem = (at: string, message: string) => ({ code: 'custom' as const, message, path: [], params: { at } });

const sourceSchema = z.union(
  [
    text().describe('REGISTRY/NAMESPACE: every repository under it'),
    map({
      namespace: text().optional().describe('REGISTRY/NAMESPACE'),
      api: z.enum(NAMESPACE_APIS, { error: expected(`one of ${NAMESPACE_APIS.join(', ')}`) }).optional().describe('how the namespace is listed (default: by registry)'),
      repositories: list(text()).optional().describe('repositories under namespace, for registries that cannot enumerate'),
      images: list(text()).optional().describe('full image references; a bare repository means every tag'),
      imageList: text().optional().describe('a file with one reference per line, relative to this file'),
    }).superRefine((spec, ctx) => {
      const kinds = SOURCE_KINDS.filter((k) => spec[k] !== undefined);
      if (kinds.length > 1) return ctx.addIssue(sourceProblem(kinds[1]!, `give one of ${SOURCE_KINDS.join(', ')} per source, not ${kinds.join(' and ')}`));
      if (spec.api !== undefined && kinds.length > 0) return ctx.addIssue(sourceProblem('api', 'api applies to a namespace source only'));
      if (kinds.length === 0 && spec.namespace === undefined) return ctx.addIssue(sourceProblem('', 'a source needs namespace, repositories, images or imageList'));
      if (kinds[0] === 'repositories' && spec.namespace === undefined) {
        return ctx.addIssue(sourceProblem('repositories', 'repositories are named under a namespace: add namespace: REGISTRY/NAMESPACE'));
      }
      if (kinds[0] === 'images' && spec.namespace !== undefined) return ctx.addIssue(sourceProblem('namespace', 'images are full references; drop namespace'));
      if (kinds[0] === 'imageList' && spec.namespace !== undefined) return ctx.addIssue(sourceProblem('namespace', 'an image list holds full references; drop namespace'));
    }),
  ],
  { error: expected('REGISTRY/NAMESPACE, or one of { namespace[, api] }, { namespace, repositories }, { images }, { imageList }') },
);
export type SourceValue = z.output<typeof sourceSchema>;

const always = { when: () => true };

const jobSchema = map({
  name: text().regex(JOB_NAME, { error: (issue) => `${shown(issue.input)} must be lowercase letters, digits, . _ - (at most 63)` }).describe('the job name (--job NAME)'),
  source: sourceSchema.optional(),
  sources: list(sourceSchema).optional(),
  examples: list(text()).optional().describe('source images `gcrsync config validate` shows the mirror names of'),
  ...settingsShape,
}).superRefine((job, ctx) => {
  // also when other keys of the job are wrong: every problem at once
  if (typeof job !== 'object' || job === null) return;
  if (job.source !== undefined && job.sources !== undefined) ctx.addIssue({ code: 'custom', message: 'give source or sources, not both', path: [], params: { at: 'sources' } });
  const listed = Array.isArray(job.sources) && job.sources.length > 0;
  if (job.source === undefined && !listed && typeof job.name === 'string') {
    ctx.addIssue({ code: 'custom', message: `job ${JSON.stringify(job.name)} has no source (source or sources)`, path: [] });
  }
}, always);

export const fileSchema = map({
  version: integer(1, 1).optional(),
  defaults: settingsSchema.optional().describe('settings every job starts from'),
  jobs: list(jobSchema)
    .min(1, { error: 'the list is empty' })
    .superRefine((jobs, ctx) => {
      if (!Array.isArray(jobs)) return;
      const seen = new Map<string, number>();
      jobs.forEach((job, index) => {
        if (typeof job?.name !== 'string') return;
        const earlier = seen.get(job.name);
        if (earlier !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(job.name)} is also the name of jobs[${earlier}]`, path: [index, 'name'] });
        else seen.set(job.name, index);
      });
    }, always),
}).describe('gcrsync.yaml: defaults, then the jobs `gcrsync sync` runs (docs/targets.md)');
export type FileValue = z.output<typeof fileSchema>;

/** The text of gcrsync.schema.json: what an editor checks `gcrsync.yaml` against (the file as typed, before gcrsync reads it). */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(fileSchema, { io: 'input', target: 'draft-07' });
  const definitions = (schema as { definitions?: Record<string, Record<string, unknown>> }).definitions!;
  // the defaults gcrsync applies after precedence, shown to the editor (they are not defaults of the file's values)
  for (const key of COMMAND_LINE_KEYS) {
    const setting: Setting = SETTINGS[key];
    if (setting.default !== undefined) definitions[key]!.default = setting.default;
  }
  return `${JSON.stringify({ ...schema, title: 'gcrsync.yaml' }, null, 2)}\n`;
}
