import { readQuotedString } from './quoted-string.js';

/** One entry of an RFC 8288 (RFC 5988) `Link` header. */
export interface LinkEntry {
  /** the URI reference between `<` and `>`, verbatim (may be relative) */
  target: string;
  /** lower-cased `rel` tokens (a link may carry several, space separated) */
  rel: string[];
  params: Record<string, string>;
}

/**
 * Parses a `Link` header (possibly several headers joined with `, `). Commas inside `<…>` and quoted
 * parameter values do not split entries; malformed entries are skipped.
 */
export function parseLinkHeader(header: string | undefined): LinkEntry[] {
  if (!header) return [];
  const entries: LinkEntry[] = [];
  let pos = 0;
  const n = header.length;
  while (pos < n) {
    const open = header.indexOf('<', pos);
    if (open < 0) break;
    const close = header.indexOf('>', open + 1);
    if (close < 0) break;
    const target = header.slice(open + 1, close).trim();
    pos = close + 1;
    const params: Record<string, string> = {};
    // parameters run until the next top-level comma
    while (pos < n) {
      while (pos < n && /[\s;]/.test(header[pos]!)) pos++;
      if (pos >= n || header[pos] === ',') break;
      const nameMatch = /^[^\s=;,]+/.exec(header.slice(pos));
      if (!nameMatch) {
        pos++;
        continue;
      }
      const name = nameMatch[0].toLowerCase();
      pos += nameMatch[0].length;
      while (pos < n && header[pos] === ' ') pos++;
      let value = '';
      if (header[pos] === '=') {
        pos++;
        while (pos < n && header[pos] === ' ') pos++;
        if (header[pos] === '"') {
          ({ value, end: pos } = readQuotedString(header, pos));
        } else {
          const raw = /^[^;,]*/.exec(header.slice(pos))![0];
          value = raw.trim();
          pos += raw.length;
        }
      }
      if (!(name in params)) params[name] = value;
    }
    if (header[pos] === ',') pos++;
    entries.push({ target, rel: (params.rel ?? '').toLowerCase().split(/\s+/).filter(Boolean), params });
  }
  return entries;
}

/** The `rel="next"` target of a Link header, verbatim, or undefined at the last page. */
export function nextLinkTarget(header: string | undefined): string | undefined {
  return parseLinkHeader(header).find((entry) => entry.rel.includes('next'))?.target;
}
