import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  RegisteredVersionRef,
  TrainingAttempt,
  TrainingHeartbeat,
  TrainingJobInput,
  TrainingSummary,
} from '../common/jobs';
import { getArtifactContent, putArtifact } from '../db/artifacts';
import { loadDatasetTable } from '../db/datasets';
import { registerModelVersion } from '../db/registry';
import { initComputeBackend } from '../ml/backend';
import { TrainingOptions, TrainingSpec, TrainingValidationError } from '../ml/training/spec';
import { train } from '../ml/training/train';
import { TrainingDivergedError } from '../ml/training/diverged';
import { stopRequestedQuery } from '../common/messages/training';
import { INVALID_JOB_INPUT, TRAINING_DIVERGED } from './errors';
import { trainingMemoryNeedMb } from '../ml/training/memory-need';
import { holdDeviceMemory, ranOn } from './gpu-admission';
import type { ActivityDeps } from './deps';
import { jobEventWriter } from './job-events';

export interface RegisterTrainedModelInput {
  tenantId: string;
  modelName: string;
  input: TrainingJobInput;
  summary: TrainingSummary;
}

export function createTrainingActivities({ pool, placement, admission }: ActivityDeps) {
  return {
    /**
     * Trains epoch by epoch, heartbeating progress and the id of the latest checkpoint artifact. A retry (the worker
     * died, the heartbeat lapsed) reads that heartbeat and resumes from the checkpoint instead of epoch 0; every
     * attempt and the epoch it resumed from are carried in the heartbeat and returned with the result.
     */
    async trainModel(input: TrainingJobInput): Promise<TrainingSummary> {
      const ctx = Context.current();
      const started = Date.now();
      const backend = await initComputeBackend();
      const previous = ctx.info.heartbeatDetails as TrainingHeartbeat | undefined;
      const loaded = await loadDatasetTable(pool, input.tenantId, input.datasetId);
      if (!loaded)
        throw ApplicationFailure.nonRetryable(`dataset ${input.datasetId} does not exist`, INVALID_JOB_INPUT);

      // A GPU worker admits the job by its device memory need, held to the end. The wait heartbeats the previous
      // attempt's details, so a crash while waiting still leaves the checkpoint for the next retry.
      const hold = await holdDeviceMemory(admission, input.gpuMemoryMb ?? trainingMemoryNeedMb(loaded.table, input), {
        ...(previous ?? {}),
      });
      try {
        let resumeFrom: Buffer | undefined;
        if (previous?.checkpointArtifactId) {
          resumeFrom = await getArtifactContent(pool, input.tenantId, previous.checkpointArtifactId);
        }
        const resumedFromEpoch = resumeFrom ? (previous?.checkpointEpoch ?? 0) : 0;
        const attempts: TrainingAttempt[] = [
          ...(previous?.attempts ?? []),
          { attempt: ctx.info.attempt, resumedFromEpoch },
        ];
        let beat: TrainingHeartbeat = {
          stage: 'training',
          epoch: resumedFromEpoch,
          epochs: input.training.epochs,
          attempts,
          ...(previous?.checkpointArtifactId && resumeFrom
            ? { checkpointArtifactId: previous.checkpointArtifactId, checkpointEpoch: resumedFromEpoch }
            : {}),
        };
        ctx.heartbeat(beat);

        // The event log: a resume says from which epoch; a retry without a checkpoint starts over, and says so.
        const events = jobEventWriter(pool, ctx);
        if (resumeFrom) {
          await events.append(
            'resumed',
            {
              epoch: resumedFromEpoch,
              attempt: ctx.info.attempt,
              checkpointArtifactId: previous!.checkpointArtifactId,
            },
            `resumed:a${ctx.info.attempt}`,
          );
        } else if (ctx.info.attempt > 1) {
          await events.append(
            'warning',
            { message: `attempt ${ctx.info.attempt} starts from epoch 0: no checkpoint was recorded before` },
            `warning:restart:a${ctx.info.attempt}`,
          );
        }

        // The stop signal lives in the workflow; asking it once per epoch keeps the activity free of any other channel.
        const execution = ctx.info.workflowExecution;
        let stopRequested = false;
        const askStop = async () => {
          if (!execution) return;
          stopRequested = await ctx.client.workflow
            .getHandle(execution.workflowId, execution.runId)
            .query(stopRequestedQuery)
            .catch(() => stopRequested);
        };

        const result = await train(
          {
            table: loaded.table,
            target: input.target,
            features: input.features,
            spec: input.spec as TrainingSpec,
            options: input.training as TrainingOptions,
            ...(resumeFrom ? { resumeFrom } : {}),
          },
          {
            signal: ctx.cancellationSignal,
            shouldStop: () => stopRequested,
            onCheckpoint: async (epoch, checkpoint) => {
              const artifact = await putArtifact(pool, {
                tenantId: input.tenantId,
                kind: 'checkpoint',
                mediaType: 'application/vnd.kiln.checkpoint',
                content: checkpoint,
              });
              beat = { ...beat, checkpointArtifactId: artifact.id, checkpointEpoch: epoch };
              ctx.heartbeat(beat);
            },
            onEpoch: async (e) => {
              beat = {
                ...beat,
                epoch: e.epoch,
                epochs: e.epochs,
                loss: e.loss,
                ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}),
                metrics: e.metrics,
              };
              ctx.heartbeat(beat);
              // Keyed by epoch: an attempt resumed from an earlier checkpoint re-runs epochs already reported, and
              // the log keeps their first report (the series stays one value per epoch, in order).
              await events.append(
                'progress',
                {
                  phase: 'training',
                  epoch: e.epoch,
                  epochs: e.epochs,
                  done: e.epoch,
                  total: e.epochs,
                  loss: e.loss,
                  ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}),
                  metrics: e.metrics,
                },
                `progress:epoch:${e.epoch}`,
              );
              await askStop();
            },
          },
        ).catch((err: unknown) => {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          if (err instanceof TrainingValidationError)
            throw ApplicationFailure.nonRetryable(err.message, INVALID_JOB_INPUT);
          // Diverged (non-finite loss): the job fails, unretried, and registers nothing (README, Training).
          if (err instanceof TrainingDivergedError)
            throw ApplicationFailure.nonRetryable(err.message, TRAINING_DIVERGED);
          throw err;
        });

        const history = await putArtifact(pool, {
          tenantId: input.tenantId,
          kind: 'training-history',
          mediaType: 'application/json',
          content: Buffer.from(JSON.stringify(result.history)),
        });
        const model = await putArtifact(pool, {
          tenantId: input.tenantId,
          kind: 'model',
          mediaType: 'application/vnd.kiln.mlp',
          content: result.model,
        });
        return {
          datasetId: input.datasetId,
          datasetSha256: loaded.meta.sha256,
          task: input.spec.task,
          epochsRun: result.epochsRun,
          stoppedEarly: result.stoppedEarly,
          ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
          attempts,
          finalMetrics: result.finalMetrics as unknown as Record<string, unknown>,
          historyArtifactId: history.id,
          modelArtifactId: model.id,
          backend: backend.name,
          ranOn: ranOn(placement, hold),
          durationMs: Date.now() - started,
        };
      } finally {
        hold.release();
      }
    },

    /** Registers the trained model as a version exactly once per workflow, whatever retries happened. */
    async registerTrainedModel(req: RegisterTrainedModelInput): Promise<RegisteredVersionRef> {
      const execution = Context.current().info.workflowExecution;
      if (!execution)
        throw ApplicationFailure.nonRetryable('registerTrainedModel runs only inside a workflow', INVALID_JOB_INPUT);
      const { summary, input } = req;
      // The per-epoch history travels as an artifact (it can be long); the version keeps a copy with its metrics.
      const history = await getArtifactContent(pool, req.tenantId, summary.historyArtifactId);
      const { version } = await registerModelVersion(pool, {
        tenantId: req.tenantId,
        modelName: req.modelName,
        flavor: `mlp-${summary.task}`,
        params: { target: input.target, features: input.features, spec: input.spec, training: input.training },
        metrics: {
          ...summary.finalMetrics,
          epochsRun: summary.epochsRun,
          attempts: summary.attempts,
          durationMs: summary.durationMs,
          history: history ? (JSON.parse(history.toString('utf8')) as unknown) : [],
        },
        artifactId: summary.modelArtifactId,
        datasetId: summary.datasetId,
        datasetSha256: summary.datasetSha256,
        sourceWorkflowId: execution.workflowId,
        sourceRunId: execution.runId,
        backend: summary.backend,
        actor: `job:${execution.workflowId}`,
        trainingJobId: execution.workflowId,
      });
      return { modelName: req.modelName, version: version.version, versionId: version.id };
    },
  };
}
