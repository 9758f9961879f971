import { expect } from 'chai';
import { JobEventWriter, ThrottledProgress } from '../../activities/job-events';

describe('ThrottledProgress', () => {
  it("carries the attempt in each event's data and key, so a retry's progress is told apart", async () => {
    const appended: Array<{ data: Record<string, unknown>; key: string }> = [];
    const writer: JobEventWriter = {
      jobId: 'clustering-00000000-0000-4000-8000-000000000000',
      append: (_type, data, key) => {
        appended.push({ data, key });
        return Promise.resolve(true);
      },
    };
    const progress = new ThrottledProgress(writer, 'clustering', 3);
    await progress.report({ phase: 'clustering', iteration: 1 });
    await progress.report({ phase: 'scoring' }, true);
    expect(appended).to.deep.equal([
      { data: { phase: 'clustering', iteration: 1, attempt: 3 }, key: 'progress:clustering:a3:1' },
      { data: { phase: 'scoring', attempt: 3 }, key: 'progress:clustering:a3:2' },
    ]);
  });
});
