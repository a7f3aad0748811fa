import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { GcrsyncError } from '../errors.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

/** The node hash name for a digest's algorithm; anything but sha256/sha512 is UNSUPPORTED. */
export function hashAlgorithmOf(digest: string): string {
  const name = digest.slice(0, digest.indexOf(':'));
  const algorithm = ALGORITHMS[name];
  if (!algorithm) throw new GcrsyncError('UNSUPPORTED', `digest algorithm ${JSON.stringify(name)} is not supported`, { ref: digest });
  return algorithm;
}

export function digestOf(bytes: Buffer | string, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function digestMismatch(where: string, expected: string, actual: string, extra = ''): GcrsyncError {
  return new GcrsyncError('DIGEST_MISMATCH', `${where}: expected ${expected}, got ${actual}${extra}`, { ref: where });
}

/**
 * Passes bytes through while hashing and counting them. It holds back the latest chunk until the stream ends,
 * and only lets it out when digest and size match; so a consumer writing a Content-Length request never
 * completes one with wrong content: it errors with DIGEST_MISMATCH one chunk short instead.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private pending: Buffer | undefined;
  private bytes = 0;
  /** set when the content proved wrong */
  failure: GcrsyncError | undefined;

  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize: number | undefined,
    private readonly where: string,
  ) {
    super();
    this.hash = createHash(hashAlgorithmOf(expectedDigest));
  }

  get bytesSeen(): number {
    return this.bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.bytes += buffer.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      this.failure = digestMismatch(this.where, `${this.expectedSize} bytes`, `more`, ` (content for ${this.expectedDigest})`);
      callback(this.failure);
      return;
    }
    this.hash.update(buffer);
    const previous = this.pending;
    this.pending = buffer;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${this.expectedDigest.slice(0, this.expectedDigest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      this.failure = digestMismatch(this.where, `${this.expectedSize} bytes`, `${this.bytes}`, ` (content for ${this.expectedDigest})`);
    } else if (actual !== this.expectedDigest) {
      this.failure = digestMismatch(this.where, this.expectedDigest, actual);
    }
    if (this.failure) {
      callback(this.failure);
      return;
    }
    callback(null, this.pending);
  }
}
