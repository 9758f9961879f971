import { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { DatasetLimits } from '../datasets/limits';
import { ApiMetrics } from './metrics';
import { JobService } from './services/jobs';

/** What the routers need, handed in by createApp (tests build it from their own servers). */
export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  jobs: JobService;
  metrics: ApiMetrics;
  limits: DatasetLimits;
  /** Where operators watch jobs (links in responses); absent when unknown. */
  temporalUiUrl?: string;
  namespace: string;
}
