import { abortedError } from './retry.js';

/**
 * crane's rule for loopback registries: HTTPS first, plain HTTP once the registry answers that way. One request
 * per host finds out which it speaks; requests that start meanwhile wait for its outcome instead of each making a
 * TLS attempt (and then a second connection) of its own: the drift check's concurrent HEADs made one per HEAD.
 */
export class LoopbackSchemes {
  /** loopback registries that answered plain HTTP to HTTPS */
  private readonly plain = new Set<string>();
  /** loopback registries that answered HTTPS: nothing left to find out */
  private readonly tls = new Set<string>();
  private readonly probes = new Map<string, Promise<void>>();

  answersPlainHttp(host: string): boolean {
    return this.plain.has(host);
  }

  /**
   * The URL to send `url` to: over plain HTTP to a registry known to answer that way. While another request finds
   * out what the host speaks, waits for it; a request that waited does not probe again, so after a probe that
   * found nothing (the host is down) they all try at once, as before. Otherwise, to a host tried over HTTPS first
   * (`httpsFirst`) whose scheme is not known yet, this request is the probe: `endProbe` ends it (once the outcome
   * is recorded with `answeredPlain`/`answeredTls`, or whatever happened; calling it again does nothing).
   */
  async settle(url: URL, signal: AbortSignal, httpsFirst: boolean): Promise<{ url: URL; endProbe?: () => void }> {
    if (url.protocol !== 'https:') return { url };
    // decided before the first await: requests started in the same tick must see each other's probe
    const probe = this.probes.get(url.host);
    if (probe === undefined) {
      if (this.plain.has(url.host)) return { url: plainHttp(url) };
      if (!httpsFirst || this.tls.has(url.host)) return { url };
      return { url, endProbe: this.startProbe(url.host) };
    }
    await untilSettled(probe, signal);
    return { url: this.plain.has(url.host) ? plainHttp(url) : url };
  }

  private startProbe(host: string): () => void {
    let resolve!: () => void;
    this.probes.set(host, new Promise<void>((done) => (resolve = done)));
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.probes.delete(host);
      resolve();
    };
  }

  answeredPlain(host: string): void {
    this.plain.add(host);
  }

  answeredTls(host: string): void {
    this.tls.add(host);
  }
}

export function plainHttp(url: URL): URL {
  return new URL(url.href.replace(/^https:/, 'http:'));
}

function untilSettled(probe: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    void probe.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
