import { strict as assert } from 'node:assert';
import { nextLinkTarget, parseLinkHeader } from '../../src/http/link.js';

describe('http/link: Link header parsing', () => {
  const cases: Array<{ name: string; header: string | undefined; next: string | undefined }> = [
    { name: 'absent header', header: undefined, next: undefined },
    { name: 'empty header', header: '', next: undefined },
    { name: 'distribution relative link', header: '</v2/a/tags/list?last=b&n=2>; rel="next"', next: '/v2/a/tags/list?last=b&n=2' },
    { name: 'absolute link', header: '<https://r.example/v2/a/tags/list?n=2&last=x>; rel="next"', next: 'https://r.example/v2/a/tags/list?n=2&last=x' },
    { name: 'unquoted rel', header: '</p2>; rel=next', next: '/p2' },
    { name: 'rel is case-insensitive', header: '</p2>; REL="Next"', next: '/p2' },
    { name: 'several links, next second', header: '</p0>; rel="prev", </p2>; rel="next"', next: '/p2' },
    { name: 'several rel tokens', header: '</p2>; rel="last next"', next: '/p2' },
    { name: 'only a prev link', header: '</p0>; rel="prev"', next: undefined },
    { name: 'comma inside the URL', header: '</v2/a/tags/list?last=a,b>; rel="next"', next: '/v2/a/tags/list?last=a,b' },
    { name: 'quay opaque token', header: '</v2/ns/r/tags/list?n=50&next_page=gAAAAABk>; rel="next"', next: '/v2/ns/r/tags/list?n=50&next_page=gAAAAABk' },
    { name: 'quoted parameter with comma before rel', header: '</p2>; title="a, b"; rel="next"', next: '/p2' },
    { name: 'garbage', header: 'not a link at all', next: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(nextLinkTarget(c.header), c.next));
  }

  it('keeps the parameters of each entry', () => {
    const entries = parseLinkHeader('</a>; rel="next"; type="application/json", </b>; rel=prev');
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0]!.params, { rel: 'next', type: 'application/json' });
    assert.deepEqual(entries[1]!.rel, ['prev']);
  });
});
