/**
 * Finds where a JSON text stops being valid. `JSON.parse` says where only for some errors (V8 prints the
 * position for "Expected ',' …" but not for "Unexpected token …"), and users fixing a hand-edited
 * metadata file need a line and column every time. Only called after `JSON.parse` has failed.
 */
export interface JsonSyntaxProblem {
  /** UTF-16 offset into the text */
  offset: number;
  reason: string;
}

type Expect = 'value' | 'keyOrClose' | 'firstValueOrClose' | 'key' | 'colon' | 'afterValue';

const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const hexDigits = /^[0-9a-fA-F]{4}$/;
const escapes = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** Returns the first syntax problem, or undefined when the text is valid JSON. Iterative, so hostile nesting cannot overflow the stack. */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const stack: Array<'object' | 'array'> = [];
  let expect: Expect = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
    if (i >= text.length) {
      return expect === 'afterValue' && stack.length === 0 ? undefined : { offset: i, reason: 'unexpected end of input' };
    }
    const c = text[i]!;
    switch (expect) {
      case 'afterValue': {
        const top = stack.at(-1);
        if (top === undefined) return { offset: i, reason: 'unexpected text after the JSON value' };
        const close = top === 'object' ? '}' : ']';
        if (c === ',') {
          i++;
          expect = top === 'object' ? 'key' : 'value';
        } else if (c === close) {
          stack.pop();
          i++;
        } else {
          return { offset: i, reason: `expected ',' or '${close}' but found ${show(c)}` };
        }
        continue;
      }
      case 'colon':
        if (c !== ':') return { offset: i, reason: `expected ':' but found ${show(c)}` };
        i++;
        expect = 'value';
        continue;
      case 'keyOrClose':
      case 'key':
        if (expect === 'keyOrClose' && c === '}') {
          stack.pop();
          i++;
          expect = 'afterValue';
          continue;
        }
        if (c !== '"') return { offset: i, reason: `expected a double-quoted property name but found ${show(c)}` };
        {
          const end = scanString(text, i);
          if (typeof end !== 'number') return end;
          i = end;
        }
        expect = 'colon';
        continue;
      case 'firstValueOrClose':
        if (c === ']') {
          stack.pop();
          i++;
          expect = 'afterValue';
          continue;
        }
        break;
      case 'value':
        break;
    }
    // a value starts here
    if (c === '{' || c === '[') {
      stack.push(c === '{' ? 'object' : 'array');
      i++;
      expect = c === '{' ? 'keyOrClose' : 'firstValueOrClose';
      continue;
    }
    expect = 'afterValue';
    if (c === '"') {
      const end = scanString(text, i);
      if (typeof end !== 'number') return end;
      i = end;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      numberPattern.lastIndex = i;
      if (!numberPattern.test(text)) return { offset: i, reason: 'malformed number' };
      i = numberPattern.lastIndex;
      continue;
    }
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
    if (literal === undefined) return { offset: i, reason: `unexpected ${show(c)}` };
    i += literal.length;
  }
}

/** Returns the offset just past the closing quote, or the problem inside the string. */
function scanString(text: string, start: number): number | JsonSyntaxProblem {
  let i = start + 1;
  for (;;) {
    if (i >= text.length) return { offset: start, reason: 'unterminated string' };
    const c = text[i]!;
    if (c === '"') return i + 1;
    if (c.charCodeAt(0) < 0x20) return { offset: i, reason: 'control character inside a string' };
    if (c === '\\') {
      const next = text[i + 1];
      if (next === 'u') {
        if (!hexDigits.test(text.slice(i + 2, i + 6))) return { offset: i, reason: 'bad \\u escape' };
        i += 6;
        continue;
      }
      if (next === undefined || !escapes.has(next)) return { offset: i, reason: 'bad escape sequence' };
      i += 2;
      continue;
    }
    i++;
  }
}

function show(c: string): string {
  return JSON.stringify(c);
}

/** 1-based line and column of an offset (columns count UTF-16 units, as editors mostly do). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
