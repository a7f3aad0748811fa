import { GcrsyncError } from '../errors.js';
import { DOCKER_HUB, formatReference, isValidRepositoryPath, isValidTag, type Reference } from './reference.js';

/** Where a source namespace lives: `gcr.io` + `google-containers` (namespace may be nested, or '' for a whole registry). */
export interface SourceLocation {
  registry: string;
  namespace: string;
}

/** Where mirrored images go: a registry plus an optional path prefix (`docker.io` + `gcrxio`). */
export interface TargetLocation {
  registry: string;
  path: string;
}

/** The repository path under the namespace, the key used in the metadata JSON (`sub/app` for `ns/sub/app`). */
export function relativeRepository(source: SourceLocation, repository: string): string {
  if (source.namespace === '') return repository;
  if (repository === source.namespace) return repository.split('/').pop()!;
  const prefix = source.namespace + '/';
  if (!repository.startsWith(prefix)) {
    throw new GcrsyncError('BAD_REFERENCE', `repository ${JSON.stringify(repository)} is outside namespace ${JSON.stringify(source.namespace)}`, {
      ref: repository,
    });
  }
  return repository.slice(prefix.length);
}

/**
 * The default mirror name: `<target>/<path under the namespace>`. Docker Hub allows exactly
 * `namespace/repo`, so nested paths are flattened with `_` there (`gcrxio/sub_app`).
 */
export function targetRepository(target: TargetLocation, relative: string): string {
  let path = relative;
  if (target.registry === DOCKER_HUB) {
    path = relative.split('/').join('_');
    if (target.path.includes('/')) {
      throw new GcrsyncError('CONFIG', `Docker Hub target ${JSON.stringify(target.path)} has more than one path level`, { ref: target.path });
    }
    if (target.path === '') {
      throw new GcrsyncError('CONFIG', 'a Docker Hub target needs a namespace, e.g. docker.io/gcrxio', { ref: DOCKER_HUB });
    }
  }
  const full = target.path === '' ? path : `${target.path}/${path}`;
  if (!isValidRepositoryPath(full)) {
    throw new GcrsyncError('BAD_REFERENCE', `mirror name ${JSON.stringify(full)} is not a valid repository path`, { ref: full });
  }
  return full;
}

export function targetReference(target: TargetLocation, relative: string, tag: string): Reference {
  return { registry: target.registry, repository: targetRepository(target, relative), tag };
}

/** One ordered rewrite rule: a leading run of whole path segments and what replaces it ('' drops it). */
export interface RewriteRule {
  prefix: string;
  replacement: string;
}

/**
 * How a job names its mirrors. `template` renders the repository path under the target path from
 * `{registry} {namespace} {repo} {path} {tag}`, optionally followed by `:` and a tag template (default `{tag}`).
 * The rewrite rules then see that rendered path (first match wins), and `separator` flattens what is left.
 */
export interface NamingRules {
  template: string;
  separator?: string;
  rewrite: RewriteRule[];
}

export const DEFAULT_NAMING: NamingRules = { template: '{path}', rewrite: [] };
const TEMPLATE_VARIABLES = ['registry', 'namespace', 'repo', 'path', 'tag'] as const;
type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

// A separator must itself be a legal joint inside one path component (distribution grammar: . _ __ -+).
const SEPARATOR_PATTERN = /^(?:\.|_|__|-+)$/;

function configError(message: string, ref?: string): GcrsyncError {
  return new GcrsyncError('CONFIG', message, ref === undefined ? {} : { ref });
}

/** Splits `repo-template[:tag-template]` and checks every `{name}`; throws CONFIG naming the bad part. */
function parseTemplate(template: string): { repository: string; tag: string } {
  const colon = template.indexOf(':');
  const repository = colon < 0 ? template : template.slice(0, colon);
  const tag = colon < 0 ? '{tag}' : template.slice(colon + 1);
  for (const part of [repository, tag]) {
    const stripped = part.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
        throw configError(`naming template ${JSON.stringify(template)}: unknown variable ${whole} (known: ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(' ')})`, template);
      }
      return '';
    });
    if (/[{}]/.test(stripped)) throw configError(`naming template ${JSON.stringify(template)} has an unmatched brace`, template);
  }
  if (joinSegments(repository) === '') {
    throw configError(`naming template ${JSON.stringify(template)} renders an empty repository`, template);
  }
  if (tag === '') throw configError(`naming template ${JSON.stringify(template)} has an empty tag part after ":"`, template);
  return { repository, tag };
}

/** Checks a whole rule set once, so a bad template or separator is a configuration error and not one per image. */
export function checkNamingRules(rules: NamingRules): void {
  parseTemplate(rules.template);
  if (rules.separator !== undefined && !SEPARATOR_PATTERN.test(rules.separator)) {
    throw configError(`naming separator ${JSON.stringify(rules.separator)} must be one of . _ __ - (what a repository name may contain)`, rules.separator);
  }
  for (const rule of rules.rewrite) {
    if (trimSlashes(rule.prefix) === '') throw configError(`rewrite rule with an empty prefix (replacement ${JSON.stringify(rule.replacement)})`);
  }
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}

/** Drops empty segments, so an empty `{namespace}` or a replacement of '' leaves no `//`. */
function joinSegments(text: string): string {
  return text.split('/').filter((s) => s !== '').join('/');
}

function render(part: string, values: Record<TemplateVariable, string>): string {
  return part.replace(/\{([a-z]+)\}/g, (_, name: string) => values[name as TemplateVariable]);
}

/** The first rule whose prefix is a leading run of whole segments of `name` replaces it. */
export function applyRewrite(name: string, rules: readonly RewriteRule[]): string {
  for (const rule of rules) {
    const prefix = trimSlashes(rule.prefix);
    if (name === prefix || name.startsWith(prefix + '/')) return joinSegments(trimSlashes(rule.replacement) + name.slice(prefix.length));
  }
  return name;
}

/** The values a template sees for one source tag; `{registry}` writes `host:port` as `host_port` (a path cannot hold `:`). */
function templateValues(source: SourceLocation, key: string, ref: Reference): Record<TemplateVariable, string> {
  return {
    registry: ref.registry.toLowerCase().replaceAll(':', '_'),
    namespace: source.namespace,
    repo: ref.repository.split('/').pop()!,
    path: key,
    tag: ref.tag ?? '',
  };
}

/**
 * The mirror of one source tag under a job's naming rules: render, rewrite, flatten, then put it under the
 * target path (Docker Hub flattens whatever nesting is left, see `targetRepository`).
 */
export function mirrorReference(target: TargetLocation, rules: NamingRules, source: SourceLocation, key: string, ref: Reference): Reference {
  return renderMirror(target, rules, parseTemplate(rules.template), source, key, ref);
}

function renderMirror(
  target: TargetLocation,
  rules: NamingRules,
  template: { repository: string; tag: string },
  source: SourceLocation,
  key: string,
  ref: Reference,
): Reference {
  const values = templateValues(source, key, ref);
  let relative = applyRewrite(joinSegments(render(template.repository, values)), rules.rewrite);
  if (rules.separator !== undefined) relative = relative.split('/').join(rules.separator);
  if (relative === '') {
    throw new GcrsyncError('BAD_REFERENCE', `naming ${JSON.stringify(rules.template)} renders an empty name for ${formatReference(ref)}`, { ref: formatReference(ref) });
  }
  const tag = render(template.tag, values);
  if (!isValidTag(tag)) {
    throw new GcrsyncError('BAD_REFERENCE', `naming ${JSON.stringify(rules.template)} renders tag ${JSON.stringify(tag)} for ${formatReference(ref)}, not a valid tag`, {
      ref: formatReference(ref),
    });
  }
  return { registry: target.registry, repository: targetRepository(target, relative), tag };
}

/** A namer for one source location, in the shape the planner's `MirrorNamer` takes. */
export function createMirrorNamer(
  source: SourceLocation,
  target: TargetLocation,
  rules: NamingRules,
): (key: string, tag: string, ref: Reference) => Reference {
  checkNamingRules(rules);
  // parsed once: the namer runs for every tag of the listing, twice (the name check of all runs, then the plan)
  const template = parseTemplate(rules.template);
  return (key, tag, ref) => renderMirror(target, rules, template, source, key, { ...ref, tag });
}
