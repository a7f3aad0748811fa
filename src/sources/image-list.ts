import { readFile } from 'node:fs/promises';
import { GcrsyncError, isGcrsyncError } from '../errors.js';
import { formatReference, formatRepository, parseReference, type Reference } from '../ref/reference.js';
import type { ImageSelection, ImagesSpec, NamedTag } from './source-spec.js';

/** How many bad lines one error message spells out; the count says how many more there were. */
const MAX_REPORTED_LINES = 20;

/**
 * Parses an image list: one reference per line (`nginx:1.25`, `quay.io/calico/node:v3.27.0`,
 * `registry.k8s.io/pause`), `#` starts a comment, blank lines are ignored. A bare repository means every
 * tag; `name:tag@digest` pins the tag to that digest. Every bad line is reported at once, as
 * `file:line: reason`, in one CONFIG error.
 */
export function parseImageList(text: string, file: string): Reference[] {
  const references: Reference[] = [];
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    // a reference never contains '#', so everything after one is a comment
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    try {
      const reference = parseReference(line);
      if (reference.digest !== undefined && reference.tag === undefined) {
        bad.push(`${file}:${index + 1}: ${JSON.stringify(line)} names a digest without a tag; gcrsync mirrors tags (write name:tag@digest)`);
        return;
      }
      references.push(reference);
    } catch (error) {
      if (!isGcrsyncError(error, 'BAD_REFERENCE')) throw error;
      bad.push(`${file}:${index + 1}: ${error.message}`);
    }
  });
  if (bad.length > 0) {
    const more = bad.length > MAX_REPORTED_LINES ? `\n… and ${bad.length - MAX_REPORTED_LINES} more` : '';
    throw new GcrsyncError('CONFIG', `image list ${file} has ${bad.length} bad line(s):\n${bad.slice(0, MAX_REPORTED_LINES).join('\n')}${more}`, {
      ref: file,
    });
  }
  return references;
}

/** Reads and parses an image list file; a missing or unreadable file is a CONFIG error. */
export async function loadImageList(file: string, signal: AbortSignal): Promise<Reference[]> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal });
  } catch (error) {
    if (signal.aborted) throw new GcrsyncError('ABORTED', `reading ${file} was cancelled`, { cause: signal.reason });
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new GcrsyncError('CONFIG', `cannot read image list ${file}: ${code}`, { ref: file, cause: error });
  }
  return parseImageList(text, file);
}

/** The namespace a reference's metadata belongs to: its repository path minus the last component. */
export function namespaceOf(reference: Pick<Reference, 'repository'>): string {
  const slash = reference.repository.lastIndexOf('/');
  return slash < 0 ? '' : reference.repository.slice(0, slash);
}

interface RepositoryEntry {
  every: Reference | undefined;
  tags: Map<string, { named: NamedTag; from: Reference }>;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Splits an image list into one source per namespace (`docker.io/library` for `nginx`, `quay.io/calico`
 * for `quay.io/calico/node`, `registry.k8s.io` + '' for `registry.k8s.io/pause`), so each gets its own
 * metadata file and sync. Duplicates merge; a bare repository line means every tag. Contradictions
 * (one tag pinned to two digests, a repository both bare and pinned) are CONFIG errors, because either
 * choice would silently ignore a line. Sorted by registry, namespace, repository and tag.
 */
export function groupByNamespace(references: readonly Reference[]): ImagesSpec[] {
  const groups = new Map<string, { registry: string; namespace: string; repositories: Map<string, RepositoryEntry> }>();
  for (const reference of references) {
    const namespace = namespaceOf(reference);
    const key = `${reference.registry}/${namespace}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { registry: reference.registry, namespace, repositories: new Map() };
      groups.set(key, group);
    }
    let entry = group.repositories.get(reference.repository);
    if (entry === undefined) {
      entry = { every: undefined, tags: new Map() };
      group.repositories.set(reference.repository, entry);
    }
    if (reference.tag === undefined) {
      entry.every ??= reference;
      continue;
    }
    const earlier = entry.tags.get(reference.tag);
    if (earlier?.named.digest !== undefined && reference.digest !== undefined && earlier.named.digest !== reference.digest) {
      throw new GcrsyncError('CONFIG', `image list pins ${formatReference(earlier.from)} and ${formatReference(reference)}: one tag, two digests`, {
        ref: formatRepository(reference),
      });
    }
    if (earlier === undefined || reference.digest !== undefined) {
      entry.tags.set(reference.tag, { named: { tag: reference.tag, ...(reference.digest !== undefined && { digest: reference.digest }) }, from: reference });
    }
  }

  const specs: ImagesSpec[] = [];
  for (const group of groups.values()) {
    const images: ImageSelection[] = [];
    for (const [repository, entry] of group.repositories) {
      const relative = group.namespace === '' ? repository : repository.slice(group.namespace.length + 1);
      if (entry.every !== undefined) {
        const pinned = [...entry.tags.values()].find((t) => t.named.digest !== undefined);
        if (pinned !== undefined) {
          throw new GcrsyncError(
            'CONFIG',
            `image list names ${formatRepository(entry.every)} bare (every tag) and pins ${formatReference(pinned.from)}; keep one of the two`,
            { ref: formatRepository(entry.every) },
          );
        }
        images.push({ repository: relative });
        continue;
      }
      const tags = [...entry.tags.values()].map((t) => t.named).sort((a, b) => compare(a.tag, b.tag));
      images.push({ repository: relative, tags });
    }
    images.sort((a, b) => compare(a.repository, b.repository));
    specs.push({ kind: 'images', registry: group.registry, namespace: group.namespace, images });
  }
  return specs.sort((a, b) => compare(a.registry, b.registry) || compare(a.namespace, b.namespace));
}
