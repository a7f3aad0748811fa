const closed = new AbortController();

/**
 * Aborted once stdout's reader went away (`gcrsync list | head -1`): the rest of the output has nowhere to go,
 * but the command still ends normally, so temp clones are removed and a sync still commits what it verified.
 */
export const stdoutClosed: AbortSignal = closed.signal;

/** Turns EPIPE on stdout from a crash into `stdoutClosed`; any other stdout error is still fatal. */
export function watchStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed.abort();
  });
}

/**
 * A closed stderr (`gcrsync sync 2>&1 | head`) drops the log lines that follow instead of crashing the run at its
 * next warning or progress line: the run goes on, commits what it verified and exits with its own status.
 */
export function watchStderr(): void {
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}
