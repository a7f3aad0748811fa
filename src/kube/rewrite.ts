import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import { GcrsyncError } from '../errors.js';
import type { Resolution } from '../browse/lookup.js';
import { formatRepository, parseReference, type Reference } from '../ref/reference.js';
import { containerFields, podSpecPath } from './pod-spec.js';

/** What the rewrite needs from the metadata: `MirrorIndex` is one. */
export interface ImageResolver {
  resolve(image: string): Resolution;
  /** already a mirror reference (a manifest rewritten before) */
  isMirror(image: string): boolean;
}

export interface RewriteChange {
  /** 1-based line of the image in the input */
  line: number;
  /** `Deployment/web initContainers[migrate]`, `values image` */
  where: string;
  from: string;
  to: string;
}

export interface NotMirrored {
  line: number;
  where: string;
  image: string;
  reason: string;
}

export interface RewriteResult {
  /** the input with only the image references replaced, byte for byte elsewhere (comments, quoting, order) */
  text: string;
  changes: RewriteChange[];
  notMirrored: NotMirrored[];
}

/**
 * Rewrites image references in Kubernetes YAML (multi-document: Pods, Deployments, StatefulSets, DaemonSets,
 * ReplicaSets, Jobs, CronJobs, PodTemplates and Lists of them; containers, init and ephemeral containers) and in
 * Helm values (any `image:` key, as a string or as `{registry, repository|image, tag, digest}`) to their mirror
 * names, only where the metadata says the image is mirrored. Documents of other kinds are left alone.
 *
 * The text is edited in place at the parser's offsets rather than re-serialized, so a diff shows only the images.
 * Invalid YAML is a USAGE error naming `label` and the line:column.
 */
export function rewriteManifests(text: string, resolver: ImageResolver, label = '-'): RewriteResult {
  const documents = parseAllDocuments(text);
  const edits = new Map<number, Edit>();
  const result: RewriteResult = { text, changes: [], notMirrored: [] };
  const lineOf = lineIndex(text);
  const context: Context = { text, resolver, edits, result, lineOf };
  for (const document of Array.isArray(documents) ? documents : []) {
    const problem = document.errors[0];
    if (problem !== undefined) {
      const at = problem.linePos?.[0];
      const where = at === undefined ? '' : `:${at.line}:${at.col}`;
      throw new GcrsyncError('USAGE', `${label}${where}: not valid YAML (${problem.message.split('\n')[0]})`, { ref: label });
    }
    const root = document.contents;
    if (!isMap(root)) continue;
    if (typeof root.get('kind') === 'string' && typeof root.get('apiVersion') === 'string') {
      rewriteObject(root, document, context);
    } else {
      rewriteValues(root, document, context, 'values');
    }
  }
  const ordered = [...edits.values()].sort((a, b) => b.start - a.start);
  let out = text;
  for (const edit of ordered) out = out.slice(0, edit.start) + edit.replacement + out.slice(edit.end);
  result.text = out;
  result.changes.sort((a, b) => a.line - b.line);
  result.notMirrored.sort((a, b) => a.line - b.line);
  return result;
}

interface Edit {
  start: number;
  end: number;
  replacement: string;
}

interface Context {
  text: string;
  resolver: ImageResolver;
  /** by start offset: an aliased scalar is edited once however many times it is used */
  edits: Map<number, Edit>;
  result: RewriteResult;
  lineOf(offset: number): number;
}

function rewriteObject(object: YAMLMap, document: Document, context: Context): void {
  const kind = String(object.get('kind'));
  if (kind === 'List' || kind.endsWith('List')) {
    const items = object.get('items', true);
    if (isSeq(items)) for (const item of items.items) if (isMap(item)) rewriteObject(item, document, context);
    return;
  }
  const path = podSpecPath(kind);
  if (path === undefined) return;
  const spec = object.getIn(path, true);
  if (!isMap(spec)) return;
  const metadata = object.get('metadata', true);
  const name = isMap(metadata) ? metadata.get('name') : undefined;
  const owner = typeof name === 'string' ? `${kind}/${name}` : kind;
  for (const field of containerFields) {
    const containers = spec.get(field, true);
    if (!isSeq(containers)) continue;
    containers.items.forEach((container, index) => {
      if (!isMap(container)) return;
      const containerName = container.get('name');
      const where = `${owner} ${field}[${typeof containerName === 'string' ? containerName : index}]`;
      const image = scalarOf(container.get('image', true), document);
      if (image !== undefined) rewriteImageScalar(image, where, context);
    });
  }
}

/** Helm values: every `image:` key at any depth. */
function rewriteValues(node: Node | null | undefined, document: Document, context: Context, where: string): void {
  if (isSeq(node)) {
    node.items.forEach((item, index) => rewriteValues(item as Node, document, context, `${where}[${index}]`));
    return;
  }
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const value = pair.value as Node | null;
    const path = key === undefined ? where : where === 'values' ? key : `${where}.${key}`;
    if (key === 'image') {
      const scalar = scalarOf(value, document);
      if (scalar !== undefined) {
        // `image: true` (a feature switch) or a number is not a reference, even though `true` would parse as one
        if (typeof scalar.value === 'string' && looksLikeReference(rawText(scalar, context.text))) rewriteImageScalar(scalar, path, context);
        continue;
      }
      if (isMap(value) && rewriteImageMap(value, document, context, path)) continue;
    }
    rewriteValues(value, document, context, path);
  }
}

function rewriteImageScalar(scalar: Scalar, where: string, context: Context): void {
  const from = rawText(scalar, context.text).trim();
  const line = context.lineOf(scalar.range![0]);
  if (from === '' || context.resolver.isMirror(from)) return;
  const resolution = context.resolver.resolve(from);
  if (!resolution.mirrored) {
    context.result.notMirrored.push({ line, where, image: from, reason: resolution.reason });
    return;
  }
  const to = resolution.match.mirror;
  replaceScalar(scalar, to, context);
  context.result.changes.push({ line, where, from, to });
}

/**
 * `{registry?, repository | image, tag?, digest?}` as charts spell it. Returns false when the map does not look
 * like an image (so the caller keeps walking into it).
 */
function rewriteImageMap(map: YAMLMap, document: Document, context: Context, where: string): boolean {
  const field = (name: string) => scalarOf(map.get(name, true), document);
  const nameKey = field('repository') !== undefined ? 'repository' : field('image') !== undefined ? 'image' : undefined;
  if (nameKey === undefined) return false;
  const name = field(nameKey)!;
  const registry = field('registry');
  const tag = field('tag');
  const digest = field('digest');
  const text = (scalar: Scalar | undefined) => (scalar === undefined ? '' : rawText(scalar, context.text).trim());
  const line = context.lineOf(name.range![0]);
  const from =
    (text(registry) === '' ? '' : `${text(registry)}/`) +
    text(name) +
    (text(tag) === '' ? '' : `:${text(tag)}`) +
    (text(digest) === '' ? '' : `@${text(digest)}`);
  if (text(name) === '' || !looksLikeReference(from)) return true;
  if (text(tag) === '' && text(digest) === '') {
    context.result.notMirrored.push({ line, where, image: from, reason: 'no tag in the values (the chart picks one), so it cannot be looked up' });
    return true;
  }
  if (context.resolver.isMirror(from)) return true;
  const resolution = context.resolver.resolve(from);
  if (!resolution.mirrored) {
    context.result.notMirrored.push({ line, where, image: from, reason: resolution.reason });
    return true;
  }
  const mirror: Reference = parseReference(resolution.match.mirror);
  if (registry !== undefined && text(registry) !== '') {
    replaceScalar(registry, mirror.registry, context);
    replaceScalar(name, mirror.repository, context);
  } else {
    replaceScalar(name, formatRepository(mirror), context);
  }
  if (tag !== undefined && text(tag) !== '' && mirror.tag !== undefined) replaceScalar(tag, mirror.tag, context);
  if (digest !== undefined && text(digest) !== '' && mirror.digest !== undefined) replaceScalar(digest, mirror.digest, context);
  context.result.changes.push({ line, where, from, to: resolution.match.mirror });
  return true;
}

/** The scalar behind a value, following an alias to its anchor. */
function scalarOf(node: unknown, document: Document): Scalar | undefined {
  const target = isAlias(node) ? node.resolve(document) : node;
  return isScalar(target) && target.range != null ? target : undefined;
}

/** What the scalar says as written: a plain `3.10` is the tag "3.10", not the number 3.1. */
function rawText(scalar: Scalar, source: string): string {
  if (scalar.type === 'PLAIN') return source.slice(scalar.range![0], scalar.range![1]);
  return typeof scalar.value === 'string' ? scalar.value : String(scalar.value);
}

/** Keeps the scalar's quoting style; block scalars become double-quoted (references are one line). */
function replaceScalar(scalar: Scalar, value: string, context: Context): void {
  const [start, end] = scalar.range!;
  const original = context.text.slice(start, end);
  let replacement: string;
  switch (scalar.type) {
    case 'PLAIN':
      replacement = value;
      break;
    case 'QUOTE_SINGLE':
      replacement = `'${value.replaceAll("'", "''")}'`;
      break;
    case 'QUOTE_DOUBLE':
      replacement = JSON.stringify(value);
      break;
    default:
      replacement = JSON.stringify(value) + (original.endsWith('\n') ? '\n' : '');
  }
  context.edits.set(start, { start, end, replacement });
}

function looksLikeReference(text: string): boolean {
  try {
    parseReference(text);
    return true;
  } catch {
    return false;
  }
}

/** offset → 1-based line, by binary search over the line starts */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}
