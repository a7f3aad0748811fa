const two = (n: number) => String(n).padStart(2, '0');

/**
 * `time` in UTC whatever the machine's time zone (a CI runner's is rarely UTC), as `yyyy-MM-dd HH:mm:ss`, or to the
 * minute. Date's own UTC getters: a date library cost a no-op run 40 modules to load for these few lines.
 */
export function utcText(time: Date, precision: 'seconds' | 'minutes'): string {
  const date = `${String(time.getUTCFullYear()).padStart(4, '0')}-${two(time.getUTCMonth() + 1)}-${two(time.getUTCDate())}`;
  const clock = `${two(time.getUTCHours())}:${two(time.getUTCMinutes())}`;
  return `${date} ${precision === 'seconds' ? `${clock}:${two(time.getUTCSeconds())}` : clock}`;
}
