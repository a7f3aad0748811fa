/**
 * The catalog's stylesheet and scripts, written beside the pages (no CDN, no web font: the site works offline
 * and from file://). The scripts only ever set `textContent` and attributes, never HTML.
 */
export const SITE_CSS = `:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --link: #0550ae; --code: #f3f4f6; --focus: #bf4b00; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --link: #79c0ff; --code: #161b22; --focus: #ffa657; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 78rem; padding: 0 1rem 2rem; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
header nav { display: flex; gap: 1.5rem; padding: .75rem 0; border-bottom: 1px solid var(--line); }
footer { margin-top: 3rem; color: var(--muted); font-size: .875rem; border-top: 1px solid var(--line); }
code { font: .875rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code); padding: .1rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; }
form[role=search] { margin: 1.5rem 0 .5rem; }
form[role=search] label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=search] { width: 100%; max-width: 40rem; font: inherit; padding: .5rem .75rem; color: var(--fg); background: var(--bg); border: 2px solid var(--line); border-radius: 6px; }
#results { list-style: none; padding: 0; }
#results li { padding: .4rem 0; border-bottom: 1px solid var(--line); }
#results li a { font-weight: 600; }
#results .mirror { display: block; }
button.copy { margin-left: .5rem; font: inherit; font-size: .8rem; padding: .05rem .5rem; color: var(--fg); background: var(--code); border: 1px solid var(--line); border-radius: 4px; cursor: pointer; }
ul.commands { list-style: none; padding: 0; }
ul.commands li { margin: .4rem 0; }
nav.pages a { padding: 0 .25rem; }
nav.pages a[aria-current] { font-weight: 700; }
`;

/** Every page: a copy button after each `<code class="copy">` (without JavaScript the code stays selectable text). */
export const SITE_JS = `(function () {
  'use strict';
  function copy(text, button) {
    function done(ok) { button.textContent = ok ? 'Copied' : 'Select and copy'; setTimeout(function () { button.textContent = 'Copy'; }, 2000); }
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback(text)); }); }
    else done(fallback(text));
  }
  function fallback(text) {
    var area = document.createElement('textarea');
    area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area); area.select();
    var ok = false; try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove(); return ok;
  }
  document.querySelectorAll('code.copy').forEach(function (code) {
    var button = document.createElement('button');
    button.type = 'button'; button.className = 'copy'; button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + code.textContent);
    button.addEventListener('click', function () { copy(code.textContent, button); });
    code.after(button);
  });
})();
`;

/**
 * The start page's search: shards (\`search/*.js\`, each calling \`gcrsyncSearch.add\`) are loaded with <script>
 * tags on the first keystroke or a \`?q=\` in the address, because file:// forbids fetching JSON. Results update
 * as shards arrive; the query is kept in the address so a search can be linked.
 */
export const SEARCH_JS = `(function () {
  'use strict';
  var form = document.getElementById('search');
  if (!form) return;
  var input = document.getElementById('q');
  var list = document.getElementById('results');
  var status = document.getElementById('search-status');
  var shards = form.getAttribute('data-shards').split(' ').filter(Boolean);
  var base = form.getAttribute('data-base');
  var LIMIT = 50;
  var entries = [];
  var loaded = 0;
  var requested = false;
  var queued = false;
  window.gcrsyncSearch = { add: function (namespace, items) {
    for (var i = 0; i < items.length; i++) {
      var e = items[i];
      var source = namespace.source + '/' + e[0];
      var mirror = e[1] === 0 ? namespace.target + '/' + e[0] : e[1];
      entries.push({ source: source, mirror: mirror, href: namespace.pages + e[0] + '.html', tags: e[2], newest: e[3], hay: (source + ' ' + mirror).toLowerCase() });
    }
    arrived();
  } };
  // until something is listed, each shard is searched as it arrives: from file:// all shards arrive at once, and
  // waiting for a timer would wait for all of them
  function arrived() { loaded++; if (list.childElementCount === 0) run(); else schedule(); }
  function load() {
    if (requested) return;
    requested = true;
    shards.forEach(function (name) {
      var script = document.createElement('script');
      script.src = base + name; script.async = true; script.onerror = arrived;
      document.head.appendChild(script);
    });
  }
  function schedule() { if (!queued) { queued = true; setTimeout(function () { queued = false; run(); }, 0); } }
  function rank(entry, query) {
    var name = entry.source.slice(entry.source.lastIndexOf('/') + 1);
    if (name === query) return 0;
    if (name.indexOf(query) === 0) return 1;
    return 2;
  }
  function run() {
    var query = input.value.trim().toLowerCase();
    var terms = query.split(/\\s+/).filter(Boolean);
    try { history.replaceState(null, '', query === '' ? location.pathname : '?q=' + encodeURIComponent(input.value.trim())); } catch (e) { /* some file:// settings refuse it */ }
    list.textContent = '';
    if (terms.length === 0) { status.textContent = ''; return; }
    var hits = entries.filter(function (entry) { return terms.every(function (term) { return entry.hay.indexOf(term) >= 0; }); });
    hits.sort(function (a, b) { return rank(a, query) - rank(b, query) || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0); });
    var fragment = document.createDocumentFragment();
    hits.slice(0, LIMIT).forEach(function (entry) {
      var item = document.createElement('li');
      var link = document.createElement('a');
      link.href = entry.href; link.textContent = entry.source;
      var mirror = document.createElement('span');
      mirror.className = 'mirror muted';
      mirror.textContent = '→ ' + (entry.mirror || 'mirror unknown') + ' · ' + entry.tags + (entry.tags === 1 ? ' tag' : ' tags') + ', newest ' + entry.newest;
      item.append(link, mirror);
      fragment.append(item);
    });
    list.append(fragment);
    var pending = loaded < shards.length ? ' (still loading the index…)' : '';
    status.textContent = hits.length === 0 ? 'No image matches.' + pending : hits.length + (hits.length === 1 ? ' image matches' : ' images match') + (hits.length > LIMIT ? ', showing the first ' + LIMIT : '') + '.' + pending;
  }
  function links() { return Array.prototype.slice.call(list.querySelectorAll('a')); }
  input.addEventListener('focus', load);
  // at once, not after a timer: from file:// the timer would wait behind every shard still being parsed
  input.addEventListener('input', function () { load(); run(); });
  form.addEventListener('submit', function (event) { event.preventDefault(); load(); schedule(); });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown' && links().length > 0) { event.preventDefault(); links()[0].focus(); }
  });
  list.addEventListener('keydown', function (event) {
    var all = links(); var at = all.indexOf(document.activeElement);
    if (event.key === 'ArrowDown' && at < all.length - 1) { event.preventDefault(); all[at + 1].focus(); }
    else if (event.key === 'ArrowUp') { event.preventDefault(); (at > 0 ? all[at - 1] : input).focus(); }
    else if (event.key === 'Escape') { input.focus(); }
  });
  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (event.key === '/' && target !== input && !(target instanceof HTMLInputElement) && !(target instanceof HTMLTextAreaElement)) { event.preventDefault(); input.focus(); }
  });
  var initial = new URLSearchParams(location.search).get('q');
  if (initial) { input.value = initial; load(); schedule(); }
})();
`;
