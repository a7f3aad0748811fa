import { GcrsyncError } from '../errors.js';

/** Stops an operation between steps once the caller gave up, with the code that exits 130. */
export function throwIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new GcrsyncError('ABORTED', `${what}: aborted`, { cause: signal.reason });
}
