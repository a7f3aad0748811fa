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
  return dateFns.format(new dateFns.UTCDate(time), pattern);
}
