import { pullCommands, planPull, type Runtime } from '../browse/pull.js';
import { count as plural, relativeLink, shortDigest, showTime, type NamespaceView, type RepositoryView } from '../store/index-pages.js';
import { tagCount } from '../store/changelog.js';
import { copyable, html, type Html, renderPage } from './html.js';
import { namespacePage, repositoryPage } from './paths.js';

export const START_PAGE = 'index.html';

/** The start page: the search box (its index loads on first use) and every namespace with its counts. */
export function renderStartPage(namespaces: readonly NamespaceView[], shards: readonly string[]): string {
  const repositories = namespaces.reduce((sum, namespace) => sum + namespace.repositories.length, 0);
  const tags = namespaces.reduce((sum, namespace) => sum + namespace.tagCount, 0);
  const lastSync = namespaces.reduce((max, namespace) => (namespace.lastSync > max ? namespace.lastSync : max), '');
  const body = html`<h1>Mirrored images</h1>
<p>${plural(namespaces.length, 'namespace')}, ${plural(repositories, 'repository', 'repositories')}, ${plural(tags, 'tag')}. Last sync: ${timeOf(lastSync)}.</p>
<form id="search" role="search" action="index.html" method="get" data-base="search/" data-shards="${shards.map((shard) => shard.slice('search/'.length)).join(' ')}">
<label for="q">Find an image</label>
<input id="q" name="q" type="search" autocomplete="off" spellcheck="false" placeholder="any part of the source or mirror name, e.g. coredns" aria-describedby="search-help" aria-controls="results">
<p id="search-help" class="muted">Press <kbd>/</kbd> to search, <kbd>↓</kbd> and <kbd>↑</kbd> to move through the results.</p>
</form>
<noscript><p>Searching needs JavaScript; every image is reachable from the namespaces below.</p></noscript>
<p id="search-status" role="status"></p>
<ul id="results" aria-label="Search results"></ul>
<h2>Namespaces</h2>
${namespaces.length === 0 ? html`<p>Nothing is mirrored yet.</p>` : namespaceTable(namespaces)}`;
  return renderPage({ path: START_PAGE, title: 'Mirrored images', body, scripts: ['assets/search.js'] });
}

function namespaceTable(namespaces: readonly NamespaceView[]): Html {
  return html`<table>
<thead><tr><th scope="col">Source</th><th scope="col">Mirror</th><th scope="col" class="n">Repositories</th><th scope="col" class="n">Tags</th><th scope="col">Last sync</th></tr></thead>
<tbody>
${namespaces.map(
  (namespace) =>
    html`<tr><th scope="row"><a href="${namespacePage(namespace.file)}">${namespace.source}</a></th><td>${codeOrDash(namespace.target)}</td><td class="n">${namespace.repositories.length}</td><td class="n">${namespace.tagCount}</td><td>${timeOf(namespace.lastSync)}</td></tr>\n`,
)}</tbody>
</table>`;
}

/** Rows per page of a namespace's repositories or a repository's tags: a page stays well under a megabyte. */
export const ROWS_PER_PAGE = 1000;

/** A namespace: its repositories with tag counts, the newest tag and the last sync, `ROWS_PER_PAGE` a page. */
export function renderNamespacePages(namespace: NamespaceView): Array<[string, () => string]> {
  return paged(namespace.repositories, (page) => namespacePage(namespace.file, page), (path, rows, pager) => {
    const body = html`<nav aria-label="Breadcrumb"><a href="${relativeLink(path, START_PAGE)}">All namespaces</a></nav>
<h1>${namespace.source}</h1>
<p>Mirrored to ${codeOrDash(namespace.target)}: ${plural(namespace.repositories.length, 'repository', 'repositories')}, ${plural(namespace.tagCount, 'tag')}. Last sync: ${timeOf(namespace.lastSync)}.</p>
${pager}<table>
<thead><tr><th scope="col">Repository</th><th scope="col" class="n">Tags</th><th scope="col">Newest tag</th><th scope="col">Last sync</th></tr></thead>
<tbody>
${rows.map(
  (repository) =>
    html`<tr><th scope="row"><a href="${relativeLink(path, repositoryPage(namespace.file, repository.key))}">${repository.key}</a></th><td class="n">${repository.tags.length}</td><td><code>${repository.tags[0]!.tag}</code></td><td>${timeOf(repository.lastSync)}</td></tr>\n`,
)}</tbody>
</table>
${pager}`;
    return renderPage({ path, title: `${namespace.source} · mirrored images`, body });
  });
}

/**
 * `items` in pages of `ROWS_PER_PAGE`, each rendered with the navigation between them (none for one page): the
 * pages' paths, and how to render each when it is wanted.
 */
function paged<T>(
  items: readonly T[],
  pathOf: (page: number) => string,
  render: (path: string, rows: readonly T[], pager: Html) => string,
): Array<[string, () => string]> {
  const count = Math.max(1, Math.ceil(items.length / ROWS_PER_PAGE));
  return Array.from({ length: count }, (_, index): [string, () => string] => {
    const path = pathOf(index + 1);
    const renderOne = () => {
      const links = Array.from({ length: count }, (_, at) =>
        at === index ? html`<a aria-current="page">${at + 1}</a> ` : html`<a href="${relativeLink(path, pathOf(at + 1))}">${at + 1}</a> `,
      );
      const pager = count === 1 ? html`` : html`<nav class="pages" aria-label="Pages">Page ${index + 1} of ${count}: ${links}</nav>\n`;
      return render(path, items.slice(index * ROWS_PER_PAGE, (index + 1) * ROWS_PER_PAGE), pager);
    };
    return [path, renderOne];
  });
}

const RUNTIMES: ReadonlyArray<{ runtime: Runtime; label: string }> = [
  { runtime: 'docker', label: 'Docker' },
  { runtime: 'ctr', label: 'containerd (ctr)' },
  { runtime: 'crictl', label: 'Kubernetes node (crictl)' },
];

/** cosign keeps signatures, attestations and SBOMs as tags named after the signed digest; a mirror that copied them carries them. */
const COSIGN_TAG = /^sha256-([0-9a-f]{64})\.(sig|att|sbom)$/;
const COSIGN_KIND: Record<string, string> = { sig: 'signature', att: 'attestation', sbom: 'SBOM' };

function cosignNote(tag: string): Html {
  const match = COSIGN_TAG.exec(tag);
  return match === null ? html`` : html`<br><span class="muted">${COSIGN_KIND[match[2]!]!} of <code>${shortDigest(`sha256:${match[1]!}`)}</code></span>`;
}

/** A repository: the rewrite mapping, pull commands for the newest tag, and every tag newest first, `ROWS_PER_PAGE` a page. */
export function renderRepositoryPages(namespace: NamespaceView, repository: RepositoryView): Array<[string, () => string]> {
  return paged(repository.tags, (page) => repositoryPage(namespace.file, repository.key, page), (path, rows, pager) =>
    renderRepositoryPage(namespace, repository, path, rows, pager),
  );
}

function renderRepositoryPage(namespace: NamespaceView, repository: RepositoryView, path: string, rows: Readonly<RepositoryView['tags']>, pager: Html): string {
  const newest = repository.tags.find((tag) => tag.record.target !== '' && !COSIGN_TAG.test(tag.tag));
  // records since digest tags follow their image count them; older metadata holds them as tags of their own
  const signatures =
    repository.tags.filter((tag) => COSIGN_TAG.test(tag.tag)).length + repository.tags.reduce((sum, tag) => sum + (tag.record.signatures ?? 0), 0);
  const referrers = repository.tags.reduce((sum, tag) => sum + (tag.record.referrers ?? 0), 0);
  const body = html`<nav aria-label="Breadcrumb"><a href="${relativeLink(path, START_PAGE)}">All namespaces</a> › <a href="${relativeLink(path, namespacePage(namespace.file))}">${namespace.source}</a></nav>
<h1>${repository.source}</h1>
<dl>
<dt>Source</dt><dd>${copyable(repository.source)}</dd>
<dt>Mirror</dt><dd>${repository.mirror === undefined ? '—' : copyable(repository.mirror)}</dd>
<dt>Tags</dt><dd>${repository.tags.length}</dd>
<dt>Last sync</dt><dd>${timeOf(repository.lastSync)}</dd>
${signatures === 0 ? html`` : html`<dt>Signatures</dt><dd>${signatures} cosign signature, attestation or SBOM tags carried</dd>
`}${referrers === 0 ? html`` : html`<dt>Referrers</dt><dd>${referrers} OCI 1.1 referrers (signatures, attestations, SBOMs) carried</dd>
`}</dl>
${newest === undefined ? html`` : pullSection(repository, newest.tag, newest.record.target)}<h2>Rewrite mapping</h2>
<p>What <code>gcrsync rewrite</code> and the admission webhook change an image name to (original → mirror):</p>
<p>${copyable(`${repository.source} → ${repository.mirror ?? '(mirror unknown)'}`)}</p>
<h2 id="tags">Tags</h2>
${pager}<table>
<caption>${tagCount(repository.tags.length)}, newest first (versions by version, then by sync time)</caption>
<thead><tr><th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Platforms</th><th scope="col">Synced at</th><th scope="col">Pull from the mirror</th></tr></thead>
<tbody>
${rows.map(({ tag, record }) => {
  const digest = record.digest === '' ? html`—` : html`<code title="${record.digest}">${shortDigest(record.digest)}</code>`;
  const rewritten = record.targetDigest === undefined ? html`` : html`<br><span class="muted">mirror <code title="${record.targetDigest}">${shortDigest(record.targetDigest)}</code></span>`;
  const platforms = record.platforms === undefined || record.platforms.length === 0 ? '—' : record.platforms.join(', ');
  const pull = record.skipped !== undefined ? html`not mirrorable: ${record.skipped}` : record.target === '' ? html`—` : copyable(`docker pull ${record.target}`);
  return html`<tr id="tag-${tag}"><th scope="row"><code>${tag}</code>${cosignNote(tag)}</th><td>${digest}${rewritten}</td><td>${platforms}</td><td>${timeOf(record.syncedAt)}</td><td>${pull}</td></tr>\n`;
})}</tbody>
</table>
${pager}`;
  return renderPage({ path, title: `${repository.source} · mirrored images`, body });
}

function pullSection(repository: RepositoryView, tag: string, target: string): Html {
  const plan = planPull(`${repository.source}:${tag}`, target);
  return html`<h2>Pull the newest tag (<code>${tag}</code>)</h2>
<ul class="commands">
${RUNTIMES.map(({ runtime, label }) => html`<li>${label}: ${copyable(pullCommands(plan, runtime)[0]!)}</li>\n`)}<li>Pull and keep the original name: ${copyable(`gcrsync pull ${repository.source}:${tag}`)}</li>
</ul>
`;
}

function timeOf(iso: string): Html {
  return iso === '' ? html`—` : html`<time datetime="${iso}">${showTime(iso)}</time>`;
}

function codeOrDash(text: string): Html {
  return text === '' ? html`—` : html`<code>${text}</code>`;
}
