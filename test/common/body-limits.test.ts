import { expect } from 'chai';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { loadConfig } from '../../common/config';

const bodyLimitsFromEnv = (env: Record<string, string>) => loadConfig(env).api.bodyLimits;

describe('common/body-limits (through the configuration)', () => {
  it('defaults to the limits the routes had before they were configurable', () => {
    expect(bodyLimitsFromEnv({})).to.deep.equal({
      maxTrainingBodyBytes: 1024 * 1024,
      maxPredictBodyBytes: 8 * 1024 * 1024,
      maxBatchPredictBodyBytes: 64 * 1024,
      maxRegistryBodyBytes: 256 * 1024,
      maxPipelineBodyBytes: 1024 * 1024,
    });
    expect(bodyLimitsFromEnv({})).to.deep.equal(DEFAULT_BODY_LIMITS);
  });

  it('reads each limit from its environment variable', () => {
    expect(
      bodyLimitsFromEnv({
        KILN_MAX_TRAINING_BODY_BYTES: '2_048',
        KILN_MAX_PREDICT_BODY_BYTES: ' 4096 ',
        KILN_MAX_BATCH_PREDICT_BODY_BYTES: '512',
        KILN_MAX_REGISTRY_BODY_BYTES: '1024',
        KILN_MAX_PIPELINE_BODY_BYTES: '4_096',
      }),
    ).to.deep.equal({
      maxTrainingBodyBytes: 2048,
      maxPredictBodyBytes: 4096,
      maxBatchPredictBodyBytes: 512,
      maxRegistryBodyBytes: 1024,
      maxPipelineBodyBytes: 4096,
    });
  });

  it('refuses a malformed value, naming the variable', () => {
    expect(() => bodyLimitsFromEnv({ KILN_MAX_TRAINING_BODY_BYTES: '1MiB' })).to.throw(
      Error,
      /KILN_MAX_TRAINING_BODY_BYTES must be a positive integer/,
    );
  });
});
