/**
 * Turning the flags that several commands share (explain, evaluate, serve, check) into library options, with one
 * usage error per bad value. Kept apart from the commands so that none imports another.
 */
import { parseNumberList, parseScale, Preprocessing } from '../model/config';
import { UsageError } from '../util/errors';
import type { MethodOptions } from '../methods';
import { WorkEta } from './output';

export function methodOptionsFromFlags(o: Record<string, unknown>, progress: boolean): Partial<MethodOptions> {
  return {
    eigenSmooth: !!o.eigenSmooth,
    noiseSamples: parseIntFlag(o.noiseSamples, '--noise-samples', 1),
    noiseLevel: parseNumberFlag(o.noiseLevel, '--noise-level', 0),
    seed: parseIntFlag(o.seed, '--seed', 0),
    batchSize: parseIntFlag(o.batchSize, '--batch-size', 1),
    maxChannels: parseIntFlag(o.maxChannels, '--max-channels', 0),
    igSteps: parseIntFlag(o.igSteps ?? 32, '--ig-steps', 1),
    femK: parsePositiveFlag(o.femK ?? 2, '--fem-k'),
    ...(o.kpcaKernel != null ? { kpcaKernel: o.kpcaKernel as MethodOptions['kpcaKernel'] } : {}),
    ...(o.kpcaGamma != null ? { kpcaGamma: parsePositiveFlag(o.kpcaGamma, '--kpca-gamma') } : {}),
    finerAlpha: parseNumberFlag(o.finerAlpha ?? 1, '--finer-alpha', -Infinity),
    ...(o.finerBase != null ? { finerBase: String(o.finerBase) } : {}),
    onProgress: progress ? methodProgress() : undefined,
  };
}

export function parseIntFlag(v: unknown, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be a whole number >= ${min} (got '${v}')`);
  return n;
}

/** --finer-compare's classes, comma-separated: whole numbers are indices, anything else a label. */
export function finerCompareFlag(v: string): (number | string)[] {
  const items = v.split(',').map((s) => s.trim());
  if (!items.length || items.some((s) => !s)) throw new UsageError(`--finer-compare needs classes separated by commas, by index or label (got '${v}')`);
  return items.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function parsePositiveFlag(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a number > 0 (got '${v}')`);
  return n;
}

export function parseNumberFlag(v: unknown, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${name} must be a number >= ${min} (got '${v}')`);
  return n;
}

/** Progress of long per-image methods (Score-CAM channels, noisy samples) with the time left, on a TTY. */
function methodProgress(): (done: number, total: number) => void {
  const eta = new WorkEta();
  return (done, total) => {
    const left = eta.update(done, total) ?? 0;
    process.stderr.write(done >= total ? '\r\x1b[2K' : `\r\x1b[2K  ${done}/${total} passes${left > 1000 ? ` ~${Math.ceil(left / 1000)}s left` : ''}`);
  };
}

export function preprocessFromFlags(o: Record<string, unknown>): Partial<Preprocessing> {
  const p: Partial<Preprocessing> = {};
  if (o.scale != null) p.scale = parseScale(String(o.scale));
  if (o.mean != null) p.mean = parseNumberList(String(o.mean), '--mean');
  if (o.std != null) {
    p.std = parseNumberList(String(o.std), '--std');
    if (p.std.some((s) => s === 0)) throw new UsageError('--std must not contain 0');
  }
  if (o.bgr) p.bgr = true;
  if (o.resize != null) p.resize = o.resize as Preprocessing['resize'];
  if (o.gray != null) p.gray = o.gray as Preprocessing['gray'];
  return p;
}
