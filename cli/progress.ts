/**
 * Progress bars (cli-progress) on stderr, only for a person watching: disabled when stderr is not
 * a terminal, under CI, or with --no-progress.
 */
import cliProgress from 'cli-progress';
import type { ProgressFactory } from '../demo/run.js';

export function progressEnabled(requested = true): boolean {
  if (!requested) return false;
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') return false;
  return !!process.stderr.isTTY;
}

/** A factory of bars showing `{label} [bar] percentage | payload | ETA`, or undefined when disabled. */
export function progressBars(requested = true): ProgressFactory | undefined {
  if (!progressEnabled(requested)) return undefined;
  return (label, total) => {
    let keys: string[] = [];
    let bar: cliProgress.SingleBar | null = null;
    const make = (payload: Record<string, string>) => {
      keys = Object.keys(payload);
      const extra = keys.map((k) => ` | ${k} {${k}}`).join('');
      bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}%${extra} | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, payload);
      return bar;
    };
    return {
      update(value, payload = {}) {
        (bar ?? make(payload)).update(value, payload);
      },
      stop() {
        if (!bar) make({});
        bar!.stop();
      },
    };
  };
}
