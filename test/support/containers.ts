import type Docker from 'dockerode';

/**
 * Building images and running containers on the test dockerd (test/support/dockerd.ts). Everything runs on the
 * host network: the daemon has no bridge, and the test registries listen on 127.0.0.1.
 */

interface DaemonEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Waits for a daemon progress stream to end; an error line in it (a failed RUN step) throws with the output. */
export async function followDaemonProgress(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<string> {
  const events = await new Promise<DaemonEvent[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: DaemonEvent[]) => (error ? reject(error) : resolve(output))),
  );
  const text = events.map((e) => e.stream ?? (e.status !== undefined ? `${e.status}\n` : '')).join('');
  const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
  if (failed) throw new Error(`${what} failed: ${failed.errorDetail?.message ?? failed.error}\n${text.slice(-6000)}`);
  return text;
}

/** `docker build` of the `files` of directory `context` as `tag`; returns the build output. */
export async function buildImage(docker: Docker, context: string, files: string[], tag: string, buildArgs: Record<string, string>): Promise<string> {
  const stream = await docker.buildImage({ context, src: files }, { t: tag, buildargs: buildArgs, networkmode: 'host', rm: true, forcerm: true });
  return followDaemonProgress(docker, stream, `docker build ${tag}`);
}

export interface ContainerRun {
  code: number;
  /** stdout and stderr as a terminal shows them */
  output: string;
}

/** `docker run --rm --network host [--entrypoint …] [-v …] IMAGE ARGS…`, waiting for the exit. */
export async function runContainer(
  docker: Docker,
  image: string,
  args: string[],
  options: { entrypoint?: string[]; binds?: string[]; env?: string[] } = {},
): Promise<ContainerRun> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: args,
    ...(options.entrypoint && { Entrypoint: options.entrypoint }),
    ...(options.env && { Env: options.env }),
    Tty: true,
    HostConfig: { NetworkMode: 'host', Binds: options.binds ?? [] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}
