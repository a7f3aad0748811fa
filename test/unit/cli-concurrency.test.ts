import { strict as assert } from 'node:assert';
import { jobConcurrency } from '../../src/cli/concurrency.js';
import { resolveJobs, type RawFlags } from '../../src/config/settings.js';
import { AdaptiveConcurrency } from '../../src/http/adaptive-concurrency.js';
import { HttpClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/log.js';

const jobFrom = (flags: Partial<RawFlags>) => resolveJobs(undefined, { source: 'gcr.io/ns', target: 'mirror.example/m', ...flags }, {}).jobs[0]!;

describe('cli/concurrency: images and blob transfers at a time per job', () => {
  const http = new HttpClient();
  after(() => http.close());

  it('adapts images and blobs of a registry-transport job that sets no concurrency, starting at 10 and 32', () => {
    const concurrency = jobConcurrency(http, silentLogger);
    const job = jobFrom({});
    const images = concurrency.images(job);
    const blobs = concurrency.blobs(job);
    assert.ok(images instanceof AdaptiveConcurrency && blobs instanceof AdaptiveConcurrency);
    assert.deepEqual([images.value, blobs.value, concurrency.imagesNow(job)], [10, 32, 10]);
  });

  it('keeps a given concurrency as it is, blobs at 32; the docker transport at 10 images', () => {
    const concurrency = jobConcurrency(http, silentLogger);
    const fixed = jobFrom({ concurrency: 3 });
    assert.deepEqual([concurrency.images(fixed), concurrency.blobs(fixed), concurrency.imagesNow(fixed)], [3, 32, 3]);
    const docker = jobFrom({ transport: 'docker' });
    assert.deepEqual([concurrency.images(docker), concurrency.imagesNow(docker)], [10, 10]);
  });
});
