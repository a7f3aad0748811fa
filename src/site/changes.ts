import { CHANGELOG_DETAIL_LIMIT, changeAnchor, countByRepository, tagCount } from '../store/changelog.js';
import { type Html, escapeHtml, html, renderPage } from './html.js';

/** Runs shown on the change page and in the feed; older ones stay in CHANGELOG.md. */
const PAGE_SECTIONS = 200;
const FEED_ENTRIES = 50;

export interface ChangeSection {
  /** the heading as written after `## ` */
  heading: string;
  /** ISO time of the run when the heading starts with gcrsync's UTC timestamp */
  time?: string;
  title: string;
  /** page-wide unique id */
  id: string;
  groups: ChangeGroup[];
}

export interface ChangeGroup {
  heading: 'New' | 'Updated';
  total: number;
  /** one line per image, or per repository (`tags` set) in a section that was counted per repository */
  items: Array<{ source: string; target: string; tags?: number }>;
}

const headingPattern = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC(?: - (.*))?$/;
const groupPattern = /^### (New|Updated) \((\d+)\)\s*$/;
const itemPattern = /^- `([^`]*)` → `([^`]*)`(?:: (\d+) tags?)?\s*$/;

/** The runs of a CHANGELOG.md written by gcrsync, newest first; lines it does not recognise are left out. */
export function parseChangelog(text: string): ChangeSection[] {
  const sections: ChangeSection[] = [];
  let group: ChangeGroup | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('## ')) {
      const heading = line.slice(3).trim();
      const match = headingPattern.exec(heading);
      const time = match === null ? undefined : `${match[1]}T${match[2]}Z`;
      const id = time === undefined ? `c-${sections.length + 1}` : changeAnchor(new Date(time));
      sections.push({ heading, ...(time !== undefined && { time }), title: match?.[3] ?? (time === undefined ? heading : ''), id, groups: [] });
      group = undefined;
      continue;
    }
    const section = sections.at(-1);
    if (section === undefined) continue;
    const groupMatch = groupPattern.exec(line);
    if (groupMatch !== null) {
      group = { heading: groupMatch[1] as ChangeGroup['heading'], total: Number(groupMatch[2]), items: [] };
      section.groups.push(group);
      continue;
    }
    const item = itemPattern.exec(line);
    if (item !== null && group !== undefined) {
      group.items.push({ source: item[1]!, target: item[2]!, ...(item[3] !== undefined && { tags: Number(item[3]) }) });
    }
  }
  uniqueIds(sections);
  return sections;
}

/** Two runs in the same second share a heading; the older keeps the plain id (the one its CHANGELOG link names). */
function uniqueIds(sections: ChangeSection[]): void {
  const seen = new Map<string, number>();
  for (const section of [...sections].reverse()) {
    const times = (seen.get(section.id) ?? 0) + 1;
    seen.set(section.id, times);
    if (times > 1) section.id = `${section.id}-${times}`;
  }
}

/** Resolves a source repository to its page on the site, relative to the page being rendered. */
export type RepositoryLink = (sourceRepository: string) => string | undefined;

export function renderChangesPage(sections: readonly ChangeSection[], link: RepositoryLink): string {
  const shown = sections.slice(0, PAGE_SECTIONS);
  const body = html`<h1>What changed</h1>
<p>Every sync that copied something, newest first${sections.length > shown.length ? html`; the ${shown.length} latest of ${sections.length} (CHANGELOG.md in the repository has them all)` : html``}. Subscribe with the <a href="feed.atom">Atom feed</a>.</p>
${shown.length === 0 ? html`<p>Nothing was synced yet.</p>` : shown.map((section) => renderSection(section, link))}`;
  return renderPage({ path: 'changes.html', title: 'What changed · mirrored images', body });
}

function renderSection(section: ChangeSection, link: RepositoryLink): Html {
  const when = section.time === undefined ? html`${section.heading}` : html`<time datetime="${section.time}">${section.heading.split(' - ')[0]!}</time>${section.title === '' ? '' : ` · ${section.title}`}`;
  return html`<section aria-labelledby="${section.id}">
<h2 id="${section.id}">${when}</h2>
${section.groups.length === 0 ? html`<p>No image changed.</p>\n` : section.groups.map((group) => renderGroup(group, link))}</section>
`;
}

function renderGroup(group: ChangeGroup, link: RepositoryLink): Html {
  // a section written before the CHANGELOG counted large runs is counted here, so the page stays small
  const items = group.items.length > CHANGELOG_DETAIL_LIMIT ? countByRepository(group.items).slice(0, CHANGELOG_DETAIL_LIMIT) : group.items;
  const rest = group.total - items.reduce((sum, item) => sum + (item.tags ?? 1), 0);
  const more = rest > 0 ? html`<li>… and ${rest} more ${rest === 1 ? 'image' : 'images'}</li>\n` : html``;
  return html`<h3>${group.heading} (${group.total})</h3>
<ul>
${items.map((item) => {
  const source = 'tags' in item && item.tags !== undefined ? item.source : repositoryPart(item.source);
  const href = link(source);
  const name = href === undefined ? html`<code>${item.source}</code>` : html`<a href="${href}"><code>${item.source}</code></a>`;
  const count = 'tags' in item && item.tags !== undefined ? `: ${tagCount(item.tags)}` : '';
  return html`<li>${name} → <code>${item.target}</code>${count}</li>\n`;
})}${more}</ul>
`;
}

/** `gcr.io/a/b:1` → `gcr.io/a/b`: the tag or digest goes, a registry port stays. */
function repositoryPart(reference: string): string {
  const at = reference.indexOf('@');
  const name = at < 0 ? reference : reference.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** An Atom feed of the latest runs; `updated` is the newest run's time, so an unchanged changelog gives the same bytes. */
export function renderFeed(sections: readonly ChangeSection[], link: RepositoryLink): string {
  const timed = sections.filter((section): section is ChangeSection & { time: string } => section.time !== undefined).slice(0, FEED_ENTRIES);
  const updated = timed[0]?.time ?? '1970-01-01T00:00:00Z';
  const entries = timed.map((section) => {
    const counts = section.groups.map((group) => `${group.heading.toLowerCase()} ${group.total}`).join(', ');
    const title = `${counts === '' ? 'no change' : counts}${section.title === '' ? '' : ` · ${section.title}`}`;
    const content = section.groups.map((group) => renderGroup(group, link).text).join('');
    return `  <entry>
    <title>${escapeHtml(title)}</title>
    <id>urn:gcrsync:change:${escapeHtml(section.id)}</id>
    <updated>${section.time}</updated>
    <link rel="alternate" type="text/html" href="changes.html#${escapeHtml(section.id)}"/>
    <content type="html">${escapeHtml(content)}</content>
  </entry>
`;
  });
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Mirrored images: what changed</title>
  <id>urn:gcrsync:changes</id>
  <updated>${updated}</updated>
  <author><name>gcrsync</name></author>
  <link rel="alternate" type="text/html" href="changes.html"/>
  <link rel="self" type="application/atom+xml" href="feed.atom"/>
${entries.join('')}</feed>
`;
}
