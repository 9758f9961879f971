import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { DEV_SERVER_DYNAMIC_CONFIG, dynamicConfigFlags } from '../../launcher/temporal-dynamic-config';

describe('Temporal dev server dynamic config', () => {
  it('raises every history queue processor poll limit above the 20/s default', () => {
    for (const queue of ['transfer', 'timer', 'visibility', 'outbound']) {
      expect(DEV_SERVER_DYNAMIC_CONFIG[`history.${queue}ProcessorMaxPollRPS`], queue).to.be.greaterThan(20);
    }
  });

  it("lets the server hand a workflow task's activity back eagerly", () => {
    expect(DEV_SERVER_DYNAMIC_CONFIG['system.enableActivityEagerExecution']).to.equal(true);
    expect(dynamicConfigFlags()).to.include('system.enableActivityEagerExecution=true');
  });

  it('runs the priority-and-fairness matcher on one partition per task queue', () => {
    expect(DEV_SERVER_DYNAMIC_CONFIG['matching.enableFairness']).to.equal(true);
    expect(DEV_SERVER_DYNAMIC_CONFIG['matching.useNewMatcher']).to.equal(true);
    expect(DEV_SERVER_DYNAMIC_CONFIG['matching.priorityLevels']).to.equal(5);
    expect(DEV_SERVER_DYNAMIC_CONFIG['matching.numTaskqueueReadPartitions']).to.equal(1);
    expect(DEV_SERVER_DYNAMIC_CONFIG['matching.numTaskqueueWritePartitions']).to.equal(1);
  });

  it('passes each value as a --dynamic-config-value flag', () => {
    const flags = dynamicConfigFlags();
    expect(flags).to.include('history.transferProcessorMaxPollRPS=1000');
    expect(flags.filter((f) => f === '--dynamic-config-value')).to.have.length(
      Object.keys(DEV_SERVER_DYNAMIC_CONFIG).length,
    );
  });

  it('docker-compose.yml starts its dev server with the same values', () => {
    const compose = fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect(compose).to.include(`--dynamic-config-value ${key}=${value}`);
    }
  });
});
