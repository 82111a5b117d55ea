/** The demo's metrics.json: what run.ts measures and report.ts renders (apart from both, so neither imports the other). */
import type { EpochInfo } from './train.js';

export interface ModelMetrics {
  accuracy: { consistent: number; randomised: number };
  decoyShare: { consistent: number; randomised: number };
  trainSeconds: number;
  secondsPerEpoch: number;
  history: EpochInfo[];
}

export interface DemoMetrics {
  generated: string;
  settings: {
    composite: string;
    compositeArgs: Record<string, unknown>;
    epochs: number;
    seed: number;
    trainSize: number;
    testSize: number;
    size: number;
    patch: number;
    maskMargin: number;
    noise: number;
    lambda: number;
    lr: number;
    batchSize: number;
    penalty: string;
  };
  data: { classes: string[]; maskFraction: number; chanceAccuracy: number };
  plain: ModelMetrics;
  guided: ModelMetrics;
  timings: { dataSeconds: number; plainTrainSeconds: number; guidedTrainSeconds: number; evaluationSeconds: number; reportSeconds: number; totalSeconds: number };
  verdict: { guidedLowerDecoyShare: boolean; guidedHigherRandomisedAccuracy: boolean; plainLeansOnDecoy: boolean; asExpected: boolean; summary: string };
  files: { report: string; metrics: string; grids: string[]; modelSpec: string; plainWeights: string; guidedWeights: string; sampleInput: string };
}
