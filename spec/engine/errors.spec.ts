/**
 * The error hierarchy (engine/errors.ts) and argument validation of rules and composites: every
 * rejected input is an LrpTapeError with a stable code, and the message names the owner, the
 * argument, the value and what is allowed.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { ArgumentError, DataError, FileIoError, InternalError, LrpTapeError, ShapeMismatchError, safeName } from '../../engine/errors.js';
import { SafetensorsError } from '../../engine/safetensors.js';
import { StateDictError } from '../../nn/index.js';
import { ModelSpecError } from '../../models/index.js';
import { CompositeConfigError, compositeFromSpec } from '../../composites/index.js';
import { alphaBetaRule, epsilonRule, gammaRule, RuleConfigError, ruleFromSpec, zBoxRule, reluBetaSmoothRule } from '../../rules/index.js';
import { CanonizerError } from '../../canonizers/index.js';
import { ExplainError } from '../../attribution/index.js';
import { ColorMapError, ImageError } from '../../image/index.js';
import { CaseError } from '../../conformance/case.js';
import { DiagnosticsError } from '../../diagnostics/index.js';
import { KernelWorkerError } from '../../engine/kernels/parallel/pool.js';
import { CliError, exitStatusFor, reportError } from '../../cli/errors.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('errors: one hierarchy with stable codes', () => {
  it('every library error class is an LrpTapeError of its category with its code', () => {
    const cases: [LrpTapeError, Function, string][] = [
      [new SafetensorsError('f', 'bad'), DataError, 'ERR_SAFETENSORS'],
      [new StateDictError('bad'), DataError, 'ERR_STATE_DICT'],
      [new ModelSpecError('bad'), DataError, 'ERR_MODEL_SPEC'],
      [new CaseError('bad'), DataError, 'ERR_CASE'],
      [new E.ShapeError('bad'), ShapeMismatchError, 'ERR_SHAPE'],
      [new E.DTypeError('bad'), ShapeMismatchError, 'ERR_DTYPE'],
      [new CompositeConfigError('bad'), ArgumentError, 'ERR_COMPOSITE_CONFIG'],
      [new RuleConfigError('bad'), ArgumentError, 'ERR_RULE_CONFIG'],
      [new CanonizerError('bad'), ArgumentError, 'ERR_CANONIZER'],
      [new ExplainError('bad'), ArgumentError, 'ERR_EXPLAIN'],
      [new ImageError('bad'), ArgumentError, 'ERR_IMAGE'],
      [new ColorMapError('x', 'bad', 0), ArgumentError, 'ERR_COLOR_MAP'],
      [new DiagnosticsError('bad'), ArgumentError, 'ERR_DIAGNOSTICS'],
      [new E.AutogradError('bad'), ArgumentError, 'ERR_AUTOGRAD'],
      [new KernelWorkerError('bad'), InternalError, 'ERR_KERNEL_WORKER'],
      [new CliError('bad', 'io'), LrpTapeError, 'ERR_IO'],
    ];
    for (const [e, base, code] of cases) {
      expect(e, e.name).to.be.instanceOf(LrpTapeError);
      expect(e, e.name).to.be.instanceOf(base);
      expect(e.code, e.name).to.equal(code);
    }
  });

  it('the CLI maps categories to exit statuses and prints one line, the stack only with debug', () => {
    const lines: string[] = [];
    const capture = (l: string): void => void lines.push(l);
    expect(reportError('explain', new CompositeConfigError('composite x: bad'), capture, false)).to.equal(2);
    expect(reportError('explain', new SafetensorsError('f', 'bad'), capture, false)).to.equal(3);
    expect(reportError('explain', new E.ShapeError('bad\nsecond line'), capture, false)).to.equal(3);
    expect(reportError('explain', new FileIoError('cannot write'), capture, false)).to.equal(4);
    expect(reportError('explain', Object.assign(new Error('ENOENT: x'), { code: 'ENOENT', syscall: 'open' }), capture, false)).to.equal(4);
    expect(lines).to.have.length(5);
    expect(lines.every((l) => /^lrp-tape explain: error: /.test(l))).to.equal(true);
    expect(lines[2]).to.equal('lrp-tape explain: error: bad; second line');
    lines.length = 0;
    expect(reportError('explain', new TypeError('x is not iterable'), capture, false)).to.equal(1);
    expect(lines).to.deep.equal(['lrp-tape explain: internal error: x is not iterable (run with --debug for the stack trace)']);
    lines.length = 0;
    reportError('explain', new TypeError('boom'), capture, true);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.match(/TypeError: boom\n\s+at /);
    expect(exitStatusFor(new InternalError('bug'))).to.equal(1);
  });

  it('safeName escapes control characters and caps the length', () => {
    expect(safeName('a\u001b[31mred\nb\u0007')).to.equal('a\\x1b[31mred\\x0ab\\x07');
    expect(safeName('\u202eevil')).to.equal('\\u202eevil');
    const long = safeName('k'.repeat(1000), 50);
    expect(long).to.equal(`${'k'.repeat(50)}... (950 more characters)`);
  });
});

describe('errors: rule and composite arguments are checked', () => {
  const expectConfig = (fn: () => unknown, type: Function, ...parts: RegExp[]): void => {
    const e = thrown(fn);
    expect(e, String(e)).to.be.instanceOf(type);
    for (const p of parts) expect((e as Error).message).to.match(p);
  };

  it('composites: type, range and known keys, naming composite, argument, value and what is allowed', () => {
    const C = CompositeConfigError;
    expectConfig(() => compositeFromSpec({ name: 'beta_smooth', args: { beta: 'x' } }), C, /composite beta_smooth/, /'beta'/, /"x"/, /finite number > 0/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: [0.25] } }), C, /composite epsilon_plus/, /'epsilon'/, /\[0\.25\]/, /stabilizer options/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: { eps: 0.25 } } }), C, /unknown option 'eps'/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: -1 } }), C, /'epsilon' must be a finite number >= 0, got -1/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: NaN } }), C, /got NaN/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { zero_params: 5 } }), C, /'zero_params' must be a parameter name or a list of names.*, got 5/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { zero_params: ['bias', 3] } }), C, /zero_params/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: { bogus: 1 } }), C, /unknown argument\(s\) bogus \(accepted: epsilon, stabilizer, zero_params/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_gamma_box', args: { low: 3, high: -3 } }), C, /'low' must be <= 'high'/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_gamma_box', args: { low: 'a', high: 3 } }), C, /'low' must be a finite number or a tensor/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_gamma_box', args: { low: 0, high: 1, gamma: -0.5 } }), C, /'gamma' must be a finite number >= 0, got -0.5/);
    expectConfig(() => compositeFromSpec({ name: 'epsilon_plus', args: [1] as never }), C, /args must be an object/);
    expectConfig(() => compositeFromSpec({ name: 'layer_map', layer_map: [['Dense', { rule: 'AlphaBeta', alpha: 3, beta: 1 }]] }), C, /alpha - beta must equal 1/);
    // Valid arguments still build.
    expect(compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: 0.25, zero_params: 'bias', stabilizer: { epsilon: 1e-3, clip: true } } }).name).to.equal('epsilon_plus');
  });

  it('rules: AlphaBeta needs alpha - beta = 1 and non-negative parts; every rule checks type, range and keys', () => {
    const R = RuleConfigError;
    expectConfig(() => ruleFromSpec({ rule: 'AlphaBeta', alpha: 3, beta: 1 }), R, /rule AlphaBeta: alpha - beta must equal 1/, /alpha=3, beta=1/);
    expectConfig(() => alphaBetaRule({ alpha: 0, beta: -1 }), R, /rule AlphaBeta: argument 'beta' must be a finite number >= 0, got -1/);
    expectConfig(() => alphaBetaRule({ alpha: 'x' as never }), R, /'alpha'.*"x"/);
    expectConfig(() => epsilonRule({ epsilon: [0.25] as never }), R, /rule Epsilon: argument 'epsilon'/);
    expectConfig(() => epsilonRule({ epsilon: 0.25, zeroParams: 7 as never }), R, /zero_params/);
    expectConfig(() => epsilonRule({ epsilon: 0.25, gamma: 1 } as never), R, /rule Epsilon: unknown argument\(s\) gamma/);
    expectConfig(() => gammaRule({ gamma: Infinity }), R, /'gamma' must be a finite number >= 0, got Infinity/);
    expectConfig(() => zBoxRule({ low: 1 } as never), R, /'high' must be a finite number or a tensor/);
    expectConfig(() => reluBetaSmoothRule({ beta: 0 }), R, /'beta' must be a finite number > 0, got 0/);
    expectConfig(() => ruleFromSpec({ rule: 'Epsilon', epsilon: '0.25' }), R, /"0.25"/);
    expectConfig(() => ruleFromSpec({ rule: 'Gamma', gamma: 1, zero_params: {} }), R, /zero_params/);
    expect(alphaBetaRule({ alpha: 1, beta: 0 }).name).to.equal('AlphaBeta');
  });
});
