/**
 * The one logger. Logs go to stderr (results go to stdout), and every line passes through `redact`
 * so a token, password or Authorization header can never reach a CI log.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  /** false when debug lines are dropped, so callers can skip building them */
  readonly debugEnabled?: boolean;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** one JSON object per line instead of text */
  json?: boolean;
  write?: (line: string) => void;
  /** values that must never be printed, e.g. passwords handed over on the command line */
  secrets?: string[];
}

const secretPatterns: RegExp[] = [
  // Authorization: Bearer xxx / Basic xxx
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  // user:password@ in URLs, and a lone user name in http(s) URLs (`https://TOKEN@github.com/…`)
  /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@|(\bhttps?:\/\/)[^\s/@:]+@/gi,
  // token=, access_token=, password= in query strings or key=value text
  /\b(access_token|refresh_token|token|password|secret|identitytoken)=([^\s&"']+)/gi,
  // "password":"..." and friends in JSON
  /"(password|secret|token|access_token|refresh_token|identitytoken|auth)"\s*:\s*"[^"]*"/gi,
  // a bare JWT (`{"` in base64url starts every one), also cut short; Google OAuth access tokens
  /\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)*|\bya29\.[A-Za-z0-9_-]+/g,
];
const anySecretPattern = new RegExp(secretPatterns.map((pattern) => `(?:${pattern.source})`).join('|'), 'i');

/**
 * Removes credentials from any text: Authorization values, URL userinfo, token-ish query parameters, bare bearer
 * tokens (JWTs, Google access tokens: an error body may echo the token it refused) and known secrets.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = maskSecrets(text, secrets);
  // one scan for all the patterns first: most text (a big report's outcome lines) holds none, and a replace that
  // finds nothing changes nothing for the ones after it
  if (!anySecretPattern.test(out)) return out;
  out = out.replace(secretPatterns[0]!, '$1 ***');
  out = out.replace(secretPatterns[1]!, (_match, scheme?: string, httpScheme?: string) => `${scheme ?? httpScheme}***@`);
  out = out.replace(secretPatterns[2]!, '$1=***');
  out = out.replace(secretPatterns[3]!, '"$1":"***"');
  out = out.replace(secretPatterns[4]!, '***');
  return out;
}

/**
 * Every occurrence of every secret becomes one `***` per masked span. Replacing secret by secret would leave the
 * rest of a secret that a shorter one starts (`pass` masked first turns `password1` into `***word1`) or overlaps.
 */
function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked: Uint8Array | undefined;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      (masked ??= new Uint8Array(text.length)).fill(1, at, at + secret.length);
    }
  }
  if (masked === undefined) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = i;
    const hidden = masked[i];
    while (i < text.length && masked[i] === hidden) i++;
    out += hidden ? '***' : text.slice(start, i);
  }
  return out;
}

const secretKeys = /^(password|secret|token|access_token|refresh_token|identitytoken|auth)$/i;

/**
 * `value` with every string redacted, keys named like secrets masked, walked BEFORE it is serialized: once
 * `JSON.stringify` has escaped a secret holding `"` or `\`, the text no longer contains the secret as written.
 */
export function redactValue<T>(value: T, secrets: readonly string[] = [...globalSecrets]): T {
  return redactWalker(secrets, new WeakSet())(value) as T;
}

/** redactValue's walk; `seen` marks the objects already walked (a second visit prints `[circular]`). */
function redactWalker(secrets: readonly string[], seen: WeakSet<object>): (item: unknown) => unknown {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redact(item, secrets);
    if (item instanceof Error) return redact(item.message, secrets);
    if (item === null || typeof item !== 'object') return item;
    if (seen.has(item)) return '[circular]';
    seen.add(item);
    if (Array.isArray(item)) return item.map(walk);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(item)) {
      out[redact(key, secrets)] = secretKeys.test(key) && typeof inner === 'string' ? '***' : walk(inner);
    }
    return out;
  };
  return walk;
}

const FLUSH_AT = 1 << 16;

/**
 * `redactAll(JSON.stringify(redactValue(value), null, 2))`, the same text, in pieces of about 64 KB: the report of a
 * big namespace's first sync (an outcome and a plan line per tag) would otherwise be built three times over as one
 * string (the redacted copy, the JSON, the redacted JSON) at the run's fullest moment. Plain objects and arrays
 * that hold others (a jobs report, its runs, each run's report, its list of outcome lines) are written member by
 * member, however deep; the rest (an outcome line) is redacted and serialized on its own, with one `seen` set for
 * the whole value as redactValue has.
 */
export function* redactedJsonPieces(value: unknown): Generator<string, void, undefined> {
  const secrets = [...globalSecrets];
  const seen = new WeakSet<object>();
  const walk = redactWalker(secrets, seen);
  let pending = '';
  function* out(text: string): Generator<string, void, undefined> {
    pending += text;
    if (pending.length >= FLUSH_AT) {
      yield pending;
      pending = '';
    }
  }
  const isContainer = (item: unknown): item is object => item !== null && typeof item === 'object';
  const holdsContainers = (item: object) => Object.values(item).some((member) => isContainer(member) && (!Array.isArray(member) || member.some(isContainer)));
  const streamable = (item: unknown): item is object =>
    isContainer(item) && !seen.has(item) && (Array.isArray(item) || Object.getPrototypeOf(item) === Object.prototype) && holdsContainers(item);
  // a member that is not written piece by piece is redacted with its key, as the whole text would be
  function* emit(item: unknown, depth: number, head: string): Generator<string, void, undefined> {
    if (!streamable(item)) {
      // JSON.stringify leaves out what has no JSON form; a caller only hands in what does
      const text = JSON.stringify(walk(item), null, 2) ?? 'null';
      yield* out(redact(head + (depth === 0 ? text : text.replaceAll('\n', '\n' + '  '.repeat(depth))), secrets));
      return;
    }
    yield* out(redact(head, secrets));
    seen.add(item);
    const inner = '\n' + '  '.repeat(depth + 1);
    const entries = Array.isArray(item)
      ? item.map((element) => ['', element] as const)
      : Object.entries(item)
          .map(([key, member]) => [`${JSON.stringify(redact(key, secrets))}: `, secretKeys.test(key) && typeof member === 'string' ? '***' : member] as const)
          .filter(([, member]) => !(member === undefined || typeof member === 'function' || typeof member === 'symbol'));
    const [open, close] = Array.isArray(item) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) {
      yield* out(open + close);
      return;
    }
    yield* out(open);
    for (const [index, [key, member]] of entries.entries()) yield* emit(member, depth + 1, (index === 0 ? '' : ',') + inner + key);
    yield* out('\n' + '  '.repeat(depth) + close);
  }
  yield* emit(value, 0, '');
  yield pending;
}

const globalSecrets = new Set<string>();
/** Registers a credential so that every logger and error report masks it from now on. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) globalSecrets.add(secret);
}
export function redactAll(text: string): string {
  return redact(text, [...globalSecrets]);
}

// C0/C1 controls, DEL, and the Unicode line and paragraph separators
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const escapeControl = (c: string): string =>
  c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A log record never forges another: a field value taken from a request or a registry answer
 * (`web\nERROR forged`) has its line breaks and other control characters written as escapes.
 */
function printable(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** Messages may span lines (a configuration's problems), but every further line is indented, never a record. */
function printableMessage(text: string): string {
  return text
    .split('\n')
    .map((line, index) => {
      const clean = line.replace(CONTROL, escapeControl);
      return index === 0 || /^\s/.test(line) ? clean : `  ${clean}`;
    })
    .join('\n');
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = order[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    const secrets = [...globalSecrets, ...(options.secrets ?? [])];
    const safe = fields === undefined ? undefined : redactValue(fields, secrets);
    let line: string;
    if (options.json) {
      line = JSON.stringify({ level, time: new Date().toISOString(), msg: redact(message, secrets), ...safe });
    } else {
      const rendered = safe
        ? Object.entries(safe)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${printable(k)}=${typeof v === 'string' ? printable(v) : JSON.stringify(v)}`)
            .join(' ')
        : '';
      // masked before escaping: an escaped control character would no longer match the secret holding it
      line = `${level.toUpperCase().padEnd(5)} ${printableMessage(redact(message, secrets))}${rendered ? ' ' + rendered : ''}`;
    }
    write(redact(line, secrets));
  };
  return {
    debugEnabled: threshold <= order.debug,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
