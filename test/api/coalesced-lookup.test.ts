import { expect } from 'chai';
import { CoalescedLookup } from '../../api/services/coalesced-lookup';
import { expectRejects } from '../support/expect-rejects';

/** Loads that stay open until the test settles them, recording their order. */
function gatedLoads() {
  const started: Array<{ key: string; resolve: (v: string) => void; reject: (e: unknown) => void }> = [];
  const load = (key: string) => () =>
    new Promise<string>((resolve, reject) => {
      started.push({ key, resolve, reject });
    });
  return { started, load };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('api/services/coalesced-lookup', () => {
  it('reads that arrive during a load share the next load, which starts after them', async () => {
    const lookup = new CoalescedLookup<string>();
    const { started, load } = gatedLoads();
    const first = lookup.get('k', load('k'));
    const later = [lookup.get('k', load('k')), lookup.get('k', load('k')), lookup.get('k', load('k'))];
    expect(started).to.have.length(1);
    started[0].resolve('old');
    expect(await first).to.equal('old');
    await tick();
    // The three later reads are not answered with the load that started before them: a second load serves them all.
    expect(started).to.have.length(2);
    started[1].resolve('new');
    expect(await Promise.all(later)).to.deep.equal(['new', 'new', 'new']);
    await tick();
    expect(started).to.have.length(2);
    expect(lookup.keys).to.equal(0);
  });

  it('keeps keys apart, and a failed load reaches only the reads it answers', async () => {
    const lookup = new CoalescedLookup<string>();
    const { started, load } = gatedLoads();
    const a1 = lookup.get('a', load('a'));
    const b1 = lookup.get('b', load('b'));
    const a2 = lookup.get('a', load('a'));
    expect(started.map((s) => s.key)).to.deep.equal(['a', 'b']);
    started[0].reject(new Error('connection lost'));
    await expectRejects(a1, (err) => expect(err.message).to.equal('connection lost'));
    await tick();
    expect(started.map((s) => s.key)).to.deep.equal(['a', 'b', 'a']);
    started[2].resolve('a-ok');
    started[1].resolve('b-ok');
    expect(await a2).to.equal('a-ok');
    expect(await b1).to.equal('b-ok');
  });

  it('a load that throws synchronously rejects its read and the next read loads again', async () => {
    const lookup = new CoalescedLookup<string>();
    await expectRejects(
      lookup.get('k', () => {
        throw new Error('bad query');
      }),
      (err) => expect(err.message).to.equal('bad query'),
    );
    await tick();
    expect(await lookup.get('k', () => Promise.resolve('fine'))).to.equal('fine');
  });
});
