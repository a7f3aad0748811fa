import { formatRepository, parseReference } from '../ref/reference.js';
import { formatUtc } from './utc-format.js';

/**
 * CHANGELOG.md of the metadata repo: a fixed header, then one section per run, newest first. Rendering is
 * pure; older sections are never re-rendered, so whatever a past run (or the old gcrsync) wrote stays as it was.
 */
export const CHANGELOG_HEADER = '# CHANGELOG\n';

export interface ChangelogEntry {
  /** full source reference */
  source: string;
  /** full target reference */
  target: string;
  /**
   * new: first copy; updated: the source digest moved; retargeted: copied again to another mirror name or platform
   * set; repaired: copied again because the mirror was gone or different at the target (drift)
   */
  kind: 'new' | 'updated' | 'retargeted' | 'repaired';
}

export interface ChangelogSectionInput {
  time: Date;
  /** shown after the timestamp, e.g. `gcr.io/google-containers → docker.io/gcrxio` */
  title?: string;
  entries: readonly ChangelogEntry[];
}

/** Past this many images a section counts them per repository: a first sync of 50 000 tags would otherwise add megabytes. */
export const CHANGELOG_DETAIL_LIMIT = 500;

/** The catalog's change page, relative to the metadata repo's root (where CHANGELOG.md is). */
export const SITE_CHANGES_PAGE = 'site/changes.html';

/**
 * One markdown section: `## <UTC time>[ - title]`, then the new, updated, retargeted and repaired images, each `source → target`;
 * past `CHANGELOG_DETAIL_LIMIT` images, each repository once with its count of tags, and a link to the
 * catalog's change page, whose repository pages list every tag.
 */
export function renderChangelogSection(input: ChangelogSectionInput): string {
  const title = input.title === undefined ? '' : inline(input.title);
  const lines = [`## ${formatUtc(input.time, "yyyy-MM-dd HH:mm:ss 'UTC'")}${title === '' ? '' : ` - ${title}`}`, ''];
  const summarized = input.entries.length > CHANGELOG_DETAIL_LIMIT;
  if (summarized) {
    lines.push(
      `${input.entries.length} images changed, counted per repository here; [the catalog's change page](${SITE_CHANGES_PAGE}#${changeAnchor(input.time)}) ` +
        'links the page of each repository, which lists its tags.',
      '',
    );
  }
  const groups = [
    { heading: 'New', kind: 'new' },
    { heading: 'Updated', kind: 'updated' },
    { heading: 'Retargeted', kind: 'retargeted' },
    { heading: 'Repaired', kind: 'repaired' },
  ] as const;
  for (const { heading, kind } of groups) {
    const entries = input.entries.filter((entry) => entry.kind === kind);
    if (entries.length === 0) continue;
    const items = summarized
      ? countByRepository(entries).map((repository) => `- \`${code(repository.source)}\` → \`${code(repository.target)}\`: ${tagCount(repository.tags)}`)
      : entries.map((entry) => `- \`${code(entry.source)}\` → \`${code(entry.target)}\``).sort();
    const listed = summarized ? items.slice(0, CHANGELOG_DETAIL_LIMIT) : items;
    // 50 000 repositories of one tag each would still be 50 000 lines: the catalog has the rest
    if (listed.length < items.length) listed.push(`- … and ${items.length - listed.length} more repositories`);
    lines.push(`### ${heading} (${entries.length})`, '', ...listed, '');
  }
  if (input.entries.length === 0) lines.push('No image changed.', '');
  return lines.join('\n');
}

export interface RepositoryCount {
  /** source repository, without tag or digest */
  source: string;
  target: string;
  tags: number;
}

/** Entries grouped by source repository, sorted by it; the target is the first entry's repository. */
export function countByRepository(entries: ReadonlyArray<Pick<ChangelogEntry, 'source' | 'target'>>): RepositoryCount[] {
  const counts = new Map<string, RepositoryCount>();
  for (const entry of entries) {
    const source = repositoryOf(entry.source);
    const known = counts.get(source);
    if (known === undefined) counts.set(source, { source, target: repositoryOf(entry.target), tags: 1 });
    else known.tags++;
  }
  return [...counts.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

export function tagCount(tags: number): string {
  return `${tags} ${tags === 1 ? 'tag' : 'tags'}`;
}

/** The id of a run's section on the catalog's change page, from its time (the heading shows it to the second). */
export function changeAnchor(time: Date): string {
  return `c-${formatUtc(time, "yyyyMMdd'-'HHmmss")}`;
}

function repositoryOf(reference: string): string {
  try {
    return formatRepository(parseReference(reference));
  } catch {
    // a changelog entry is whatever the run recorded; an unparseable one still counts, under its own name
    return reference;
  }
}

/**
 * The whole new file: the header, the new section, then everything that followed the header in
 * `existing`, byte for byte. A file without our header (hand-written, or the old gcrsync's) is kept whole.
 */
export function prependChangelog(existing: string | undefined, section: string): string {
  const fresh = CHANGELOG_HEADER + '\n' + section.replace(/\n*$/, '\n');
  if (existing === undefined || existing === '') return fresh;
  const header = /^# CHANGELOG[ \t]*\r?\n(?:[ \t]*\r?\n)*/.exec(existing);
  const older = header === null ? existing : existing.slice(header[0].length);
  return older === '' ? fresh : `${fresh}\n${older}`;
}

/** A heading must stay on one line. */
function inline(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** References never contain a backtick, but a stray one would end the code span. */
function code(text: string): string {
  return inline(text).replaceAll('`', "'");
}
