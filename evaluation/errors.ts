/** Rejected input to an evaluation (shapes, targets, masks, names): the message names the problem. */
export class EvaluationError extends Error {
  override name = 'EvaluationError';
}
