import { readQuotedString } from '../http/quoted-string.js';

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface Challenge {
  /** lower-cased auth scheme: `bearer`, `basic`, … */
  scheme: string;
  /** parameters with lower-cased names; values unquoted */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[^\s,="]/;

/**
 * Parses one or more `WWW-Authenticate` headers into challenges. A header may hold several challenges
 * (`Basic realm="x", Bearer realm="y"`), and quoted values may contain commas (`scope="repository:a:pull,push"`),
 * so the header is tokenised rather than split on commas.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseWwwAuthenticate(h));
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let pos = 0;
  const n = header.length;

  const readToken = (): string => {
    const start = pos;
    while (pos < n && TOKEN_CHAR.test(header[pos]!)) pos++;
    return header.slice(start, pos);
  };
  const skipSpaces = () => {
    while (pos < n && /\s/.test(header[pos]!)) pos++;
  };

  while (pos < n) {
    while (pos < n && /[\s,]/.test(header[pos]!)) pos++;
    if (pos >= n) break;
    const token = readToken();
    if (token === '') {
      pos++; // a stray `=` or `"`: skip it rather than loop
      continue;
    }
    skipSpaces();
    if (header[pos] === '=' && current) {
      pos++;
      skipSpaces();
      let value: string;
      if (header[pos] === '"') ({ value, end: pos } = readQuotedString(header, pos));
      else value = readToken();
      const name = token.toLowerCase();
      if (!(name in current.params)) current.params[name] = value;
    } else if (header[pos] === '=') {
      // a parameter before any scheme: malformed; skip its value
      pos++;
      skipSpaces();
      if (header[pos] === '"') pos = header.indexOf('"', pos + 1) < 0 ? n : header.indexOf('"', pos + 1) + 1;
      else readToken();
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** The challenge gcrsync answers: Bearer when offered, else Basic (ggcr ping.go pickFromMultipleChallenges). */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic');
}
