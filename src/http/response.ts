import type { Readable } from 'node:stream';
import { GcrsyncError } from '../errors.js';
import { safeUrl } from './url-policy.js';

export type RawHeaders = Record<string, string | string[] | undefined>;

/**
 * Case-insensitive response headers; repeated headers are kept apart for `all` and joined for `get`. Read where
 * they are (undici names them in lower case already): a run reads two or three headers of each of its answers.
 */
export class ResponseHeaders {
  private readonly raw: RawHeaders;

  constructor(raw: RawHeaders = {}) {
    this.raw = hasUpperCaseNames(raw) ? lowerCaseNames(raw) : raw;
  }

  get(name: string): string | undefined {
    const value = this.raw[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  all(name: string): string[] {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }
}

function hasUpperCaseNames(raw: RawHeaders): boolean {
  for (const name in raw) if (name !== name.toLowerCase()) return true;
  return false;
}

function lowerCaseNames(raw: RawHeaders): RawHeaders {
  const out: RawHeaders = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const before = out[lower];
    out[lower] = before === undefined ? value : [...[before].flat(), ...[value].flat()];
  }
  return out;
}

/** A body stream that may offer undici's cheap `dump` (drain a little, then drop the connection) and `arrayBuffer`. */
type Body = Readable & { dump?: (opts?: { limit: number }) => Promise<void>; arrayBuffer?: () => Promise<ArrayBuffer> };

/**
 * One HTTP answer. The body must be read (`buffer`, `json`, `text`) or released (`discard`) so the connection
 * returns to the pool.
 */
export class HttpResponse {
  /** body bytes read by `buffer`, `text` or `json` */
  bytesRead = 0;

  constructor(
    readonly status: number,
    /** the URL that gave this answer, after redirects */
    readonly url: URL,
    readonly headers: ResponseHeaders,
    readonly body: Body,
  ) {}

  /** Content-Length as a number, or undefined when absent or not a plain integer. */
  contentLength(): number | undefined {
    const value = this.headers.get('content-length');
    if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
    const length = Number(value);
    return Number.isSafeInteger(length) ? length : undefined;
  }

  /** The whole body, refusing (HOSTILE_RESPONSE) anything longer than `maxBytes`. */
  async buffer(maxBytes: number): Promise<Buffer> {
    const declared = this.contentLength();
    if (declared !== undefined && declared > maxBytes) {
      this.drop();
      throw this.tooLarge(maxBytes);
    }
    if (declared !== undefined && typeof this.body.arrayBuffer === 'function') {
      // the length is known and allowed: undici gathers the body itself, without a stream iterator per answer
      try {
        const bytes = Buffer.from(await this.body.arrayBuffer());
        this.bytesRead = bytes.length;
        return bytes;
      } catch (error) {
        throw this.cutOff(`before its ${declared} bytes were in`, error);
      }
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of this.body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        total += buffer.length;
        if (total > maxBytes) {
          this.drop();
          throw this.tooLarge(maxBytes);
        }
        chunks.push(buffer);
      }
    } catch (error) {
      if (error instanceof GcrsyncError) throw error;
      throw this.cutOff(`after ${total} bytes`, error);
    }
    this.bytesRead = total;
    return Buffer.concat(chunks, total);
  }

  async text(maxBytes: number): Promise<string> {
    return (await this.buffer(maxBytes)).toString('utf8');
  }

  /** The body parsed as JSON, as `unknown` for a validator to type; not JSON → HOSTILE_RESPONSE. */
  async json(maxBytes: number): Promise<unknown> {
    const text = await this.text(maxBytes);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new GcrsyncError('HOSTILE_RESPONSE', `${safeUrl(this.url)} answered a body that is not JSON`, {
        ref: safeUrl(this.url),
        cause: error,
      });
    }
  }

  /** Releases the body without reading it all (undici keeps the socket if the rest is short). */
  async discard(): Promise<void> {
    try {
      if (typeof this.body.dump === 'function') await this.body.dump({ limit: 64 * 1024 });
      else this.drop();
    } catch {
      // an aborted or broken body is released either way
    }
  }

  /** Closes the connection under an unwanted body; the abort error it raises is expected, not a failure. */
  private drop(): void {
    this.body.on('error', () => undefined);
    this.body.destroy();
  }

  /**
   * The connection broke while the body was arriving. The error keeps the answer's status and the network error
   * as cause: that pair is what `isTransient` and `HttpClient.readRetrying` recognise as worth asking again.
   */
  private cutOff(when: string, error: unknown): GcrsyncError {
    const code = (error as { code?: unknown } | undefined)?.code;
    return new GcrsyncError('REGISTRY', `${safeUrl(this.url)}: the answer was cut off ${when} (${typeof code === 'string' ? code : 'connection lost'})`, {
      ref: safeUrl(this.url),
      status: this.status,
      cause: error,
    });
  }

  private tooLarge(maxBytes: number): GcrsyncError {
    return new GcrsyncError('HOSTILE_RESPONSE', `${safeUrl(this.url)} answered more than ${maxBytes} bytes`, {
      ref: safeUrl(this.url),
    });
  }
}
