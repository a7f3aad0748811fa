import assert from 'node:assert/strict';
import { linkedSignal } from '../../src/http/linked-signal.js';

describe('linkedSignal', () => {
  it('follows the parent: every live child is aborted with the parent reason', () => {
    const parent = new AbortController();
    const children = [linkedSignal(parent.signal), linkedSignal(parent.signal)];
    const reason = new Error('interrupted');
    parent.abort(reason);
    for (const child of children) assert.equal(child.signal.reason, reason);
  });

  it('aborts one child on its own, leaving the parent and its siblings alone', () => {
    const parent = new AbortController();
    const [a, b] = [linkedSignal(parent.signal), linkedSignal(parent.signal)];
    a.abort('deadline');
    assert.equal(a.signal.reason, 'deadline');
    assert.equal(b.signal.aborted, false);
    assert.equal(parent.signal.aborted, false);
  });

  it('lets go of the parent once disposed', () => {
    const parent = new AbortController();
    const disposed = linkedSignal(parent.signal);
    const live = linkedSignal(parent.signal);
    disposed.dispose();
    parent.abort('stop');
    assert.equal(disposed.signal.aborted, false);
    assert.equal(live.signal.reason, 'stop');
  });

  it('is born aborted under an aborted parent', () => {
    const parent = new AbortController();
    parent.abort('gone');
    assert.equal(linkedSignal(parent.signal).signal.reason, 'gone');
  });

  it('adds one listener to the parent, whatever the number of children', () => {
    const parent = new AbortController();
    let added = 0;
    const add = parent.signal.addEventListener.bind(parent.signal);
    parent.signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      add(...args);
    };
    for (let i = 0; i < 100; i++) linkedSignal(parent.signal).dispose();
    assert.equal(added, 1);
  });
});
