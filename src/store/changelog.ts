import { UTCDate } from '@date-fns/utc';
import { format } from 'date-fns/format';
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
  kind: 'new' | 'updated';
}

export interface ChangelogSectionInput {
  time: Date;
  /** shown after the timestamp, e.g. `gcr.io/google-containers → docker.io/gcrxio` */
  title?: string;
  entries: readonly ChangelogEntry[];
}

/** One markdown section: `## <UTC time>[ - title]`, then the new and the updated images, each `source → target`. */
export function renderChangelogSection(input: ChangelogSectionInput): string {
  const title = input.title === undefined ? '' : inline(input.title);
  const lines = [`## ${formatUtc(input.time)}${title === '' ? '' : ` - ${title}`}`, ''];
  const groups = [
    { heading: 'New', kind: 'new' },
    { heading: 'Updated', kind: 'updated' },
  ] as const;
  for (const { heading, kind } of groups) {
    const entries = input.entries
      .filter((entry) => entry.kind === kind)
      .map((entry) => `- \`${code(entry.source)}\` → \`${code(entry.target)}\``)
      .sort();
    if (entries.length === 0) continue;
    lines.push(`### ${heading} (${entries.length})`, '', ...entries, '');
  }
  if (input.entries.length === 0) lines.push('No image changed.', '');
  return lines.join('\n');
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

/** `yyyy-MM-dd HH:mm:ss UTC`, whatever the machine's time zone (a CI runner's is rarely UTC). */
function formatUtc(time: Date): string {
  return format(new UTCDate(time), "yyyy-MM-dd HH:mm:ss 'UTC'");
}

/** A heading must stay on one line. */
function inline(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** References never contain a backtick, but a stray one would end the code span. */
function code(text: string): string {
  return inline(text).replaceAll('`', "'");
}
