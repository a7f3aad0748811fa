import type { JobOptions } from '../config/job-options.js';
import { AdaptiveConcurrency, type Concurrency } from '../http/adaptive-concurrency.js';
import type { HttpClient } from '../http/client.js';
import { DEFAULT_WINDOW } from '../http/host-limiter.js';
import type { Logger } from '../log.js';
import { DEFAULT_IMAGE_CONCURRENCY } from '../reconcile/execute.js';
import { DEFAULT_BLOB_CONCURRENCY } from '../transports/registry.js';

export interface JobConcurrency {
  /** images copied at a time by the job's runs */
  images(job: JobOptions): Concurrency;
  /** blob transfers at a time in the job's registry transport */
  blobs(job: JobOptions): Concurrency;
  /** how many images may be in flight right now (a pull budget keeps that many pulls in reserve) */
  imagesNow(job: JobOptions): number;
}

/**
 * Images and blob transfers at a time for each job. `concurrency` set (flag, environment or config file) is a fixed
 * number of images, and blob transfers stay at their fixed default; left unset, a registry-transport job's images
 * and blobs adapt to how the registries answer this client (docs/targets.md#concurrency), from 10 images and 32
 * blobs up to `connections` (the most requests one host gets at once: more images than that only queue for it).
 * One adaptive pair per command, shared by its runs (they run one after another, mostly against the same hosts).
 */
export function jobConcurrency(http: HttpClient, logger: Logger, connections: number = DEFAULT_WINDOW.max): JobConcurrency {
  const images = new AdaptiveConcurrency({ initial: DEFAULT_IMAGE_CONCURRENCY, max: Math.max(DEFAULT_IMAGE_CONCURRENCY, connections) });
  const blobs = new AdaptiveConcurrency({ initial: DEFAULT_BLOB_CONCURRENCY, max: Math.max(DEFAULT_BLOB_CONCURRENCY, connections) });
  images.onChange((value) => logger.debug('images at a time', { value }));
  blobs.onChange((value) => logger.debug('blob transfers at a time', { value }));
  http.observeAnswers((answer) => {
    images.observe(answer);
    blobs.observe(answer);
  });
  const adapts = (job: JobOptions) => job.concurrency === undefined && job.transport === 'registry';
  const imagesOf = (job: JobOptions): Concurrency => job.concurrency ?? (adapts(job) ? images : DEFAULT_IMAGE_CONCURRENCY);
  return {
    images: imagesOf,
    blobs: (job) => (adapts(job) ? blobs : DEFAULT_BLOB_CONCURRENCY),
    imagesNow: (job) => {
      const limit = imagesOf(job);
      return typeof limit === 'number' ? limit : limit.value;
    },
  };
}
