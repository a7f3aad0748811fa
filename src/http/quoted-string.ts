/**
 * Reads an RFC 9110 quoted-string starting at the opening `"` at `start`: backslash escapes are
 * unescaped, and an unterminated string runs to the end. Returns the value and the index after the closing quote.
 */
export function readQuotedString(text: string, start: number): { value: string; end: number } {
  let pos = start + 1;
  let value = '';
  while (pos < text.length && text[pos] !== '"') {
    if (text[pos] === '\\' && pos + 1 < text.length) pos++;
    value += text[pos];
    pos++;
  }
  return { value, end: pos + 1 };
}
