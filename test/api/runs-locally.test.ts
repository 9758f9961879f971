import { expect } from 'chai';
import { runsLocally } from '../../api/services/submit-clustering';

describe('which clustering jobs compute as a local activity', () => {
  it('a dataset by id on the CPU pool, up to the bound in points × columns', () => {
    expect(runsLocally({}, false, 2_000, 10_000)).to.equal(true);
    expect(runsLocally({}, false, 10_000, 10_000)).to.equal(true);
    expect(runsLocally({}, false, 10_001, 10_000)).to.equal(false);
  });

  it('never a job routed to a GPU queue, a series reference, or with the bound at 0', () => {
    expect(runsLocally({ route: { taskQueue: 'kiln-gpu' } }, false, 10, 10_000)).to.equal(false);
    expect(runsLocally({}, true, 10, 10_000)).to.equal(false);
    expect(runsLocally({}, false, 1, 0)).to.equal(false);
  });
});
