import { ArgumentError, DataError } from '../engine/errors.js';

/** Inputs to an evaluation that do not fit (image shape, targets, masks, relevance): the message names the problem. */
export class EvaluationError extends DataError {
  override name = 'EvaluationError';
  constructor(message: string) {
    super(message, 'ERR_EVALUATION');
  }
}

/** An evaluation option that does not exist or is out of range (metric, method or baseline names, steps, patch size). */
export class EvaluationConfigError extends ArgumentError {
  override name = 'EvaluationConfigError';
  constructor(message: string) {
    super(message, 'ERR_EVALUATION_CONFIG');
  }
}
