import type { PredictBatching } from '../../common/predict-batching';
import type { Predictor } from '../../ml/serving/predictor';

interface Queued {
  points: Float32Array;
  n: number;
  resolve(prediction: Record<string, unknown>): void;
  reject(err: unknown): void;
}

/** The requests gathered for one loaded model, not yet run. */
interface Batch {
  predictor: Predictor;
  requests: Queued[];
  rows: number;
  /** When its first request came (performance.now(), ms). */
  startedAt: number;
  timer?: NodeJS.Timeout;
  immediate?: NodeJS.Immediate;
}

/** One online predict request from its arrival at the route: see PredictBatcher.admit. */
export interface PredictTicket {
  /**
   * Predicts this request's n rows (`points`, row-major n × predictor.columns) with the others gathered for the same
   * loaded model, and resolves with its own rows' prediction as predictor.predict would give it alone; rejects with
   * the error of its own rows only (NonFinitePredictionError). Also leaves (see `leave`).
   */
  predict(predictor: Predictor, points: Float32Array, n: number): Promise<Record<string, unknown>>;
  /** Stops counting the request as on its way (it failed before predicting); idempotent. */
  leave(): void;
}

/**
 * Dynamic micro-batching of online predict (what serving systems call adaptive batching): concurrent requests for one
 * loaded model version are gathered and predicted in one call (Predictor.predictEach: one tensor batch), and each gets
 * exactly its own rows back. Requests for different versions never share a batch (they are gathered per predictor
 * object, which is one version's loaded model).
 *
 * When a batch runs: as soon as no other predict request is on its way (admitted at the route but still reading its
 * body, resolving its model version or loading the model), so that a lone request (concurrency 1) waits for nothing;
 * otherwise when `windowMs` has passed since the batch's first request (0: at the end of the current event-loop turn),
 * or at once when it holds `maxRows` rows. A request is never split: one that would overflow the batch runs the batch
 * and starts the next one, one with `maxRows` rows or more predicts alone, and `maxRows` 1 turns batching off (every
 * request calls predictor.predict itself, as before batching existed).
 */
export class PredictBatcher {
  private onTheWay = 0;
  private readonly open = new Map<Predictor, Batch>();

  /** `onBatch` hears of each batch run: its requests and rows (metrics). */
  constructor(
    private readonly settings: PredictBatching,
    private readonly onBatch?: (requests: number, rows: number) => void,
  ) {}

  /** Counts a request as on its way from now until it predicts or leaves. Call it first thing in the route. */
  admit(): PredictTicket {
    let counted = true;
    const leave = () => {
      if (!counted) return;
      counted = false;
      this.onTheWay--;
      if (this.onTheWay === 0) this.runAll();
    };
    this.onTheWay++;
    return {
      predict: (predictor, points, n) => {
        // Alone: batching is off, the request fills a batch by itself, or nothing else is on its way or gathered for
        // this model (concurrency 1), so it would run at once anyway: it then costs what it did before batching.
        const lone = this.onTheWay === 1 && counted && !this.open.has(predictor);
        if (this.settings.maxRows <= 1 || n >= this.settings.maxRows || lone) {
          leave();
          this.onBatch?.(1, n);
          return predictor.predict(points, n);
        }
        const answer = this.enqueue(predictor, points, n);
        leave();
        return answer;
      },
      leave,
    };
  }

  /** Requests admitted that have not yet predicted or left. */
  get waitingFor(): number {
    return this.onTheWay;
  }

  private enqueue(predictor: Predictor, points: Float32Array, n: number): Promise<Record<string, unknown>> {
    let batch = this.open.get(predictor);
    if (batch && batch.rows + n > this.settings.maxRows) {
      this.run(batch);
      batch = undefined;
    }
    if (!batch) {
      batch = { predictor, requests: [], rows: 0, startedAt: performance.now() };
      this.open.set(predictor, batch);
    }
    const open = batch;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) =>
      open.requests.push({ points, n, resolve, reject }),
    );
    open.rows += n;
    if (open.rows >= this.settings.maxRows) this.run(open);
    else this.schedule(open);
    return answer;
  }

  /** Sets the batch's deadline (its window) unless it has one; runAll runs it sooner when nothing else is coming. */
  private schedule(batch: Batch): void {
    if (batch.timer || batch.immediate) return;
    const left = this.settings.windowMs - (performance.now() - batch.startedAt);
    if (left <= 0) batch.immediate = setImmediate(() => this.run(batch));
    else batch.timer = setTimeout(() => this.run(batch), left);
  }

  private runAll(): void {
    for (const batch of [...this.open.values()]) this.run(batch);
  }

  /** Takes the batch out of the open ones and predicts it; each request settles with its own outcome. */
  private run(batch: Batch): void {
    if (this.open.get(batch.predictor) === batch) this.open.delete(batch.predictor);
    if (batch.timer) clearTimeout(batch.timer);
    if (batch.immediate) clearImmediate(batch.immediate);
    batch.timer = batch.immediate = undefined;
    const { requests } = batch;
    if (requests.length === 0) return;
    batch.requests = [];
    this.onBatch?.(requests.length, batch.rows);
    void batch.predictor.predictEach(requests).then(
      (outcomes) =>
        requests.forEach((request, i) => {
          const outcome = outcomes[i];
          if (outcome.ok) request.resolve(outcome.prediction);
          else request.reject(outcome.error);
        }),
      (err: unknown) => requests.forEach((request) => request.reject(err)),
    );
  }
}
