import { expect } from 'chai';
import type { Client } from '@temporalio/client';
import { JobService, StartableJob } from '../../api/services/jobs';
import { priorityKeyOf, PRIORITY_KEYS } from '../../api/services/job-priority';
import { clusteringRequest } from '../../api/schemas/clustering';
import { trainingRequest } from '../../api/schemas/training';
import { batchPredictRequest } from '../../api/schemas/predict';
import { fullPipelineRequest, validationPipelineRequest } from '../../api/schemas/pipelines';

describe('job priority', () => {
  it('high, normal and low are priority keys 1, 3 and 5; absent is normal; a key 1..5 stays as it is', () => {
    expect([priorityKeyOf('high'), priorityKeyOf('normal'), priorityKeyOf('low')]).to.deep.equal([1, 3, 5]);
    expect(priorityKeyOf(undefined)).to.equal(PRIORITY_KEYS.normal);
    expect(priorityKeyOf(2)).to.equal(2);
  });

  describe("JobService.startOptions (a job's start and a schedule's action)", () => {
    // startOptions builds options only; it never calls the client.
    const jobs = new JobService({} as Client);
    const job = (priorityKey?: number): StartableJob => ({
      workflowType: 'clusteringWorkflow',
      input: {},
      taskQueue: 'kiln-cpu',
      memo: {},
      attributes: { kind: 'clustering', tenantId: 'acme' },
      ...(priorityKey !== undefined ? { priorityKey } : {}),
    });

    it("carries the priority key and the job's tenant as the fairness key", () => {
      expect(jobs.startOptions(job(1)).priority).to.deep.equal({ priorityKey: 1, fairnessKey: 'acme' });
    });

    it('gives a job without a priority the normal key, still with its fairness key', () => {
      expect(jobs.startOptions(job()).priority).to.deep.equal({ priorityKey: 3, fairnessKey: 'acme' });
    });
  });

  describe('request schemas', () => {
    it('clustering, training and batch predict take high, normal or low and nothing else', () => {
      const clustering = { algorithm: 'kmeans', params: {}, datasetId: '00000000-0000-4000-8000-000000000000' };
      expect(clusteringRequest.parse({ ...clustering, priority: 'high' }).priority).to.equal('high');
      expect(clusteringRequest.safeParse({ ...clustering, priority: 1 }).success).to.equal(false);
      expect(clusteringRequest.safeParse({ ...clustering, priority: 'urgent' }).success).to.equal(false);
      expect(trainingRequest.shape.priority.safeParse('low').success).to.equal(true);
      expect(trainingRequest.shape.priority.safeParse('express').success).to.equal(false);
      const batch = { datasetId: '00000000-0000-4000-8000-000000000000', priority: 'normal' };
      expect(batchPredictRequest.parse(batch).priority).to.equal('normal');
    });

    it('pipelines take the words and, as before, a priority key 1..5', () => {
      for (const priority of ['high', 'low', 1, 5]) {
        expect(validationPipelineRequest.parse({ priority }).priority, String(priority)).to.equal(priority);
      }
      for (const priority of [0, 6, 2.5, 'express']) {
        expect(validationPipelineRequest.safeParse({ priority }).success, String(priority)).to.equal(false);
      }
      expect(fullPipelineRequest.shape.priority.safeParse('high').success).to.equal(true);
    });

    it("a pipeline's embedded training or clustering body has no priority of its own", () => {
      const nested = fullPipelineRequest.shape.training.unwrap();
      expect(Object.keys(nested.shape)).to.not.include('priority');
      expect(Object.keys(fullPipelineRequest.shape.clustering.unwrap().shape)).to.not.include('priority');
    });
  });
});
