import { expect } from 'chai';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { Principal } from '../../common/auth/principal';
import { DependencyUnavailableError } from '../../common/errors';
import { KilnKind } from '../../common/search-attributes';
import { decidePipeline, PipelineDeps } from '../../api/services/pipelines';
import { expectRejects } from '../support/expect-rejects';

/** Deps whose one pipeline is RUNNING and whose Update start fails with `err`; records the deadline it was given. */
function depsFailingWith(err: Error, deadlines: number[]): PipelineDeps {
  const handle = {
    client: {
      withDeadline: (deadline: number, fn: () => Promise<unknown>) => {
        deadlines.push(deadline - Date.now());
        return fn();
      },
    },
    startUpdate: () => Promise.reject(err),
  };
  const description = {
    status: { name: 'RUNNING' },
    typedSearchAttributes: { get: (key: { name: string }) => (key.name === KilnKind.name ? 'pipeline' : undefined) },
  };
  return { jobs: { describeOr404: async () => ({ handle, description }) } } as unknown as PipelineDeps;
}

describe('api/services/pipelines: a decision the run cannot take now', () => {
  const id = 'pipeline-full-00000000-0000-4000-8000-000000000000';
  const reviewer: Principal = {
    id: 'key:0123456789abcdef',
    tenantId: 'default',
    role: 'approver',
    platformAdmin: false,
  };

  it('an Update no worker accepted within the deadline is a 503 naming the worker, not a 500 after 40 s', async () => {
    const deadlines: number[] = [];
    const timeout = new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled');
    await expectRejects(
      decidePipeline(depsFailingWith(timeout, deadlines), 'default', id, { decision: 'approve' }, reviewer),
      (err) => {
        expect(err).to.be.instanceOf(DependencyUnavailableError);
        expect((err as DependencyUnavailableError).dependency).to.equal('worker');
        expect(err.message).to.match(/no worker accepted the decision within 10 s/);
      },
    );
    expect(deadlines[0]).to.be.within(9_000, 10_000);
  });

  it('a run whose workflow task keeps failing (FAILED_PRECONDITION) is a 503 saying the decision was not applied', async () => {
    const grpc = Object.assign(new Error('9 FAILED_PRECONDITION: Workflow Task in failed state.'), {
      code: 9,
      details: 'Workflow Task in failed state.',
    });
    const failed = new ServiceError('Workflow Update failed', { cause: grpc });
    await expectRejects(
      decidePipeline(depsFailingWith(failed, []), 'default', id, { decision: 'reject' }, reviewer),
      (err) => {
        expect(err).to.be.instanceOf(DependencyUnavailableError);
        expect(err.message).to.equal(
          "the run's worker is unavailable: the run's workflow task is failing (Workflow Task in failed state.), so no " +
            'worker can take the decision; it was not applied. Send it again once the workers run; retry later',
        );
      },
    );
  });

  it('any other error stays what it is (a 500 in the API)', async () => {
    const other = new Error('boom');
    await expectRejects(
      decidePipeline(depsFailingWith(other, []), 'default', id, { decision: 'approve' }, reviewer),
      (err) => expect(err).to.equal(other),
    );
  });
});
