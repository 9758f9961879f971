/**
 * Shapes of the validation pipelines (workflows/pipelines.ts) that cross the workflow boundary. As for every job,
 * data travels by id: the report, the evaluation table and the model live in Postgres; workflow history holds ids,
 * counts and metric numbers only.
 */
import type { DatasetRef, ResolvedDataset } from './dataset-ref';
import type {
  ClusteringJobInput,
  ClusteringSummary,
  RegisteredVersionRef,
  TrainingJobInput,
  TrainingSummary,
} from './jobs';

export type PipelineKind = 'validation' | 'full';

/**
 * Where a pipeline is (the KilnStage search attribute, the memo's `stage`, the `stage` query): the stage running, or
 * `completed` once it has ended (its result's status says how).
 */
export type PipelineStage =
  'validating' | 'training' | 'evaluating' | 'gating' | 'awaiting-approval' | 'registering' | 'promoting' | 'completed';

/**
 * How a pipeline that completed ended. Validation pipelines: PASSED or FAILED_VALIDATION (an error-severity check
 * failed). Full pipelines: FAILED_VALIDATION (stopped before training), GATE_FAILED or REJECTED (the candidate is
 * registered as FAILED_VALIDATION, the alias unmoved), PROMOTED.
 */
export type PipelineOutcome = 'PASSED' | 'FAILED_VALIDATION' | 'GATE_FAILED' | 'REJECTED' | 'PROMOTED';

/** The holdout of a full pipeline: a stored dataset, or a seeded fraction of the dataset's rows (ml/evaluation/holdout.ts). */
export type HoldoutSpec = { datasetId: string } | { fraction: number; seed: number };

/** Counts of a validation report (db/pipelines.ts). */
export interface ValidationCounts {
  checks: number;
  failed: number;
  errors: number;
  warnings: number;
}

/** What the validation activity needs: datasets by id, the target and task when known, and check overrides. */
export interface ValidateDataInput {
  tenantId: string;
  datasetId: string;
  referenceDatasetId?: string;
  target?: string;
  task?: 'classification' | 'regression';
  /** Overrides of the validation thresholds and severities (ml/validation options), already checked by the API. */
  checks?: Record<string, unknown>;
  /** Full pipelines: the holdout; a fraction splits the dataset, storing both parts as datasets. */
  holdout?: HoldoutSpec;
}

export interface ValidateDataResult {
  reportId: string;
  /** No error-severity check failed. */
  passed: boolean;
  counts: ValidationCounts;
  /** Failed error-severity checks as `name` or `name(column)`, at most MAX_BLOCKING_NAMES. */
  blocking: string[];
  /** What training uses: the dataset itself, or its training part when the holdout is a fraction. */
  trainDatasetId: string;
  holdoutDatasetId?: string;
  holdoutRows?: number;
}

/** Failed error checks named in a ValidateDataResult (the report holds all of them). */
export const MAX_BLOCKING_NAMES = 20;

export interface ValidationPipelineInput {
  tenantId: string;
  datasetId: string;
  referenceDatasetId?: string;
  target?: string;
  task?: 'classification' | 'regression';
  checks?: Record<string, unknown>;
}

export interface ValidationPipelineResult {
  kind: 'validation';
  status: 'PASSED' | 'FAILED_VALIDATION';
  reportId: string;
  counts: ValidationCounts;
  blocking: string[];
  /** The series version a run that named its dataset by series validated. */
  dataset?: ResolvedDataset;
}

/** A gate threshold with greaterIsBetter resolved (the API fills in the metric's default). */
export interface PipelineThreshold {
  metric: string;
  threshold?: number;
  minAbsoluteChange?: number;
  minRelativeChange?: number;
  greaterIsBetter: boolean;
}

export interface GateSpec {
  thresholds: PipelineThreshold[];
  noChampion: 'absolute-only' | 'fail';
}

export interface ApprovalSpec {
  /** As requested ("24h"), and in milliseconds. */
  timeout: string;
  timeoutMs: number;
  onTimeout: 'reject' | 'approve';
}

/**
 * A full pipeline's input: exactly one of `training` (an MLP candidate, trained by trainingWorkflow) and `clustering`
 * (a clustering candidate, fitted by clusteringWorkflow; runs recorded before clustering pipelines carry `training`).
 */
export interface FullPipelineInput {
  tenantId: string;
  modelName: string;
  datasetId: string;
  holdout: HoldoutSpec;
  referenceDatasetId?: string;
  checks?: Record<string, unknown>;
  /** The training job; its datasetId is replaced by the training part when the holdout is a fraction. */
  training?: TrainingJobInput;
  /**
   * The clustering job (never registering by itself: `register` absent); its datasetId is replaced by the training part
   * when the holdout is a fraction, and `columns` is always set (the columns the candidate and champion are compared on).
   */
  clustering?: ClusteringJobInput & { columns: string[] };
  gate: GateSpec;
  approval?: ApprovalSpec;
  promote: { alias: string };
}

/**
 * A full pipeline naming its dataset by series: resolved when the run starts, for itself and its candidate's job
 * (exactly one of `training` and `clustering`, as in FullPipelineInput).
 */
export type FullPipelineRefInput = Omit<FullPipelineInput, 'datasetId' | 'training' | 'clustering'> & {
  datasetId?: undefined;
  dataset: DatasetRef;
  training?: Omit<TrainingJobInput, 'datasetId'>;
  clustering?: Omit<ClusteringJobInput, 'datasetId'> & { columns: string[] };
};

export interface EvaluateInput {
  tenantId: string;
  modelName: string;
  task: 'classification' | 'regression';
  /** The alias whose holder is the champion. */
  alias: string;
  holdoutDatasetId: string;
  holdout: HoldoutSpec;
  candidateArtifactId: string;
  /** The candidate's target: a champion predicting another is refused (runs from before it carry none). */
  target?: string;
}

/** What the clustering evaluation needs: as EvaluateInput, with the columns the candidate was fitted on. */
export interface EvaluateClusteringInput {
  tenantId: string;
  modelName: string;
  /** The alias whose holder is the champion. */
  alias: string;
  holdoutDatasetId: string;
  holdout: HoldoutSpec;
  candidateArtifactId: string;
  columns: string[];
}

export interface EvaluateResult {
  evaluationId: string;
  holdoutRows: number;
  candidate: Record<string, number>;
  champion?: { version: number; versionId: string; metrics: Record<string, number> };
}

export interface GateInput {
  tenantId: string;
  gate: GateSpec;
  candidate: Record<string, number>;
  champion?: Record<string, number>;
}

/** One threshold's verdict (ml/evaluation/gate.ts ThresholdResult, the numbers only). */
export interface GateThresholdResult {
  metric: string;
  greaterIsBetter: boolean;
  /** Null when the metric is undefined on this holdout (the threshold failed with reason "metric undefined on this holdout"). */
  value: number | null;
  championValue: number | null;
  delta: number | null;
  relativeDelta: number | null;
  passed: boolean;
  reason?: string;
}

export interface GateOutcome {
  passed: boolean;
  hasChampion: boolean;
  results: GateThresholdResult[];
  reason?: string;
}

export interface Decision {
  decision: 'approve' | 'reject';
  comment?: string;
  /** `reviewer` (POST .../decision) or `timeout` (onTimeout decided). */
  by: 'reviewer' | 'timeout';
  /** Workflow time of the decision, ISO-8601. */
  at: string;
  /** The principal id of the reviewer (`key:<keyId>`, `sso:<issuer>|<sub>`); absent for a timeout and older runs. */
  decidedBy?: string;
}

/** What a registered candidate's params record of the pipeline that made it. */
export interface CandidateRecord {
  reportId: string;
  evaluationId: string;
  holdoutDatasetId: string;
  metrics: Record<string, number>;
  champion?: { version: number; metrics: Record<string, number> };
  gate: GateOutcome;
  decision?: Decision;
}

export interface RegisterCandidateInput {
  tenantId: string;
  modelName: string;
  training: TrainingJobInput;
  summary: TrainingSummary;
  status: 'READY' | 'FAILED_VALIDATION';
  pipeline: CandidateRecord;
  /** The training child's job id, whose event log holds the version's per-epoch curves (absent in older runs). */
  trainingJobId?: string;
}

/** A clustering candidate to register (flavor: its algorithm), with the pipeline's record. */
export interface RegisterClusteringCandidateInput {
  tenantId: string;
  modelName: string;
  clustering: ClusteringJobInput & { columns: string[] };
  summary: ClusteringSummary;
  status: 'READY' | 'FAILED_VALIDATION';
  pipeline: CandidateRecord;
}

export interface PromoteInput {
  tenantId: string;
  modelName: string;
  alias: string;
  version: number;
  /** The champion the gate compared with (null: none); promotion refuses when the alias moved since. */
  expectedCurrentVersionId: string | null;
  /** The reviewer who approved the promotion (their principal id), recorded in its audit event; absent without one. */
  approvedBy?: string;
}

export interface PromotionRef {
  alias: string;
  version: number;
  previousVersion?: number;
  previousAlias?: string;
}

export interface FullPipelineResult {
  kind: 'full';
  status: Exclude<PipelineOutcome, 'PASSED'>;
  reportId: string;
  counts: ValidationCounts;
  blocking: string[];
  trainingJobId?: string;
  /** The clustering child's job id, for a clustering candidate (in place of trainingJobId). */
  clusteringJobId?: string;
  evaluationId?: string;
  metrics?: { candidate: Record<string, number>; champion?: { version: number; metrics: Record<string, number> } };
  gate?: GateOutcome;
  decision?: Decision;
  registered?: RegisteredVersionRef & { status: 'READY' | 'FAILED_VALIDATION' };
  promotion?: PromotionRef;
  /** The series version a run that named its dataset by series ran on. */
  dataset?: ResolvedDataset;
}

/**
 * What the `decision` update answers: the decision taken and what followed from it. FAILED: registering or promoting
 * failed after the decision (the run fails with it); `registered` then says whether the version exists (a candidate
 * registered READY whose promotion was refused stays READY, unpromoted).
 */
export interface DecisionOutcome {
  decision: Decision;
  status: 'PROMOTED' | 'REJECTED' | 'FAILED';
  registered?: RegisteredVersionRef & { status: 'READY' | 'FAILED_VALIDATION' };
  promotion?: PromotionRef;
  /**
   * Why it FAILED: the root ApplicationFailure's message and type (AliasMoved, ...). Runs from before this field
   * was an object answered a bare message string.
   */
  error?: { message: string; type?: string } | string;
}

export interface DecisionRequest {
  decision: 'approve' | 'reject';
  comment?: string;
  /** The caller's principal id: set by the API from the authenticated request, never taken from the body. */
  decidedBy?: string;
}
