/**
 * A training run whose loss stopped being a finite number. Kiln's policy (README, Training): such a run FAILS. It is
 * not retried (the same data, seed and settings diverge the same way), no model is saved and no version is
 * registered, so a diverged model can never be served. Checkpoints of earlier epochs stay stored as artifacts but are
 * never promoted.
 */
export class TrainingDivergedError extends Error {
  constructor(
    /** The epoch (from 1) in which the loss became non-finite. */
    readonly epoch: number,
    /** Where: 'batch 3 of 5', 'validation', 'final metrics'. */
    readonly at: string,
    readonly loss: number,
    settings: { optimizer: string; learningRate: number },
  ) {
    super(
      `training diverged: the loss became ${loss} in epoch ${epoch} (${at}) with optimizer ${settings.optimizer} at ` +
        `learningRate ${settings.learningRate}; the run fails and registers no model. Lower learningRate, use ` +
        "optimizer 'adam', or keep options.standardizeTarget on for targets far from unit scale",
    );
    this.name = 'TrainingDivergedError';
  }
}
