/**
 * The metadata's canonical JSON: keys sorted as text at every level, 2-space indentation. `JSON.stringify` would
 * put integer-like keys ("10", "2") first in numeric order, and builds the whole text as one string.
 */

/** Pieces of the text are handed out once they are this many characters or more. */
const PIECE = 1 << 16;

/** The canonical text of `value`, as if it were nested `depth` levels deep (its closing brace indented so). */
export function canonicalJson(value: unknown, depth: number): string {
  const inner = '  '.repeat(depth + 1);
  const outer = '  '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + canonicalJson(item, depth + 1)).join(',\n')}\n${outer}]`;
  }
  if (isObject(value)) {
    const keys = definedKeys(value);
    if (keys.length === 0) return '{}';
    const members = keys.map((key) => `${inner}${JSON.stringify(key)}: ${canonicalJson(value[key], depth + 1)}`);
    return `{\n${members.join(',\n')}\n${outer}}`;
  }
  return JSON.stringify(value);
}

/**
 * The same text as `canonicalJson(value, 0)`, in pieces of about 64 K characters: objects less than `split` levels
 * deep are written member by member, so no string longer than a piece (or one deeper value) is ever built.
 */
export function* canonicalPieces(value: unknown, split: number): Generator<string, void, undefined> {
  const sink = { text: '' };
  yield* writeValue(value, 0, split, sink);
  if (sink.text !== '') yield sink.text;
}

function* writeValue(value: unknown, depth: number, split: number, sink: { text: string }): Generator<string, void, undefined> {
  if (depth >= split || !isObject(value)) {
    sink.text += canonicalJson(value, depth);
    return;
  }
  const keys = definedKeys(value);
  if (keys.length === 0) {
    sink.text += '{}';
    return;
  }
  const inner = '  '.repeat(depth + 1);
  sink.text += '{\n';
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    sink.text += `${index === 0 ? '' : ',\n'}${inner}${JSON.stringify(key)}: `;
    // a generator per member only where members are split further: the records are written inline
    if (depth + 1 < split && isObject(value[key])) yield* writeValue(value[key], depth + 1, split, sink);
    else sink.text += canonicalJson(value[key], depth + 1);
    if (sink.text.length >= PIECE) {
      yield sink.text;
      sink.text = '';
    }
  }
  sink.text += `\n${'  '.repeat(depth)}}`;
}

function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
