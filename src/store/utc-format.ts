import { createRequire } from 'node:module';
import type { UTCDate as UtcDateClass } from '@date-fns/utc';
import type { format as formatDate } from 'date-fns/format';

let dateFns: { format: typeof formatDate; UTCDate: typeof UtcDateClass } | undefined;

/**
 * `time` in UTC (a CI runner's time zone rarely is) as the date-fns `pattern` says. date-fns loads with the first
 * time formatted, for a commit or a page: a run that commits nothing never needs its 40 modules.
 */
export function formatUtc(time: Date, pattern: string): string {
  if (dateFns === undefined) {
    const require = createRequire(import.meta.url);
    dateFns = { format: (require('date-fns/format') as { format: typeof formatDate }).format, UTCDate: (require('@date-fns/utc') as { UTCDate: typeof UtcDateClass }).UTCDate };
  }
  // a big namespace's pages show one time per tag, nearly all from the same few seconds: formatted once per second
  // (no pattern here goes below seconds)
  const second = Math.floor(time.getTime() / 1000);
  const last = lastFormatted.get(pattern);
  if (last?.second === second) return last.text;
  const text = dateFns.format(new dateFns.UTCDate(time), pattern);
  lastFormatted.set(pattern, { second, text });
  return text;
}

const lastFormatted = new Map<string, { second: number; text: string }>();
