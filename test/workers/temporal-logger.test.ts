import { expect } from 'chai';
import { createLogger } from '../../common/logger';
import { temporalLogger } from '../../workers/temporal-logger';

describe("the Temporal SDK's logger on pino", () => {
  it('maps each SDK level, keeps the metadata as fields and serializes an error', () => {
    const lines: Array<Record<string, any>> = [];
    const log = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
    const sdk = temporalLogger(log);
    sdk.trace('t');
    sdk.debug('d');
    sdk.info('Worker state changed', { sdkComponent: 'worker', taskQueue: 'kiln-cpu', state: 'RUNNING' });
    sdk.warn('w');
    sdk.error('Activity failed', { error: new Error('boom'), [Symbol('ts')]: 1n });
    sdk.log('INFO', 'via log');
    expect(lines.map((l) => [l.level, l.msg])).to.deep.equal([
      [10, 't'],
      [20, 'd'],
      [30, 'Worker state changed'],
      [40, 'w'],
      [50, 'Activity failed'],
      [30, 'via log'],
    ]);
    expect(lines[2]).to.include({ sdkComponent: 'worker', taskQueue: 'kiln-cpu', state: 'RUNNING' });
    expect(lines[4].err).to.include({ message: 'boom', type: 'Error' });
    expect(lines[4]).to.not.have.property('error');
  });
});
