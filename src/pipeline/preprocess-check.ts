/**
 * Per-channel normalisation must give one value for all channels or one per channel: `--mean 1,2` on an RGB
 * model used to leave the third channel unnormalised without a word.
 */
import * as path from 'path';
import { UsageError } from '../util/errors';
import { SIDECAR_NAME } from '../model/config';
import type { Session } from './session';

function sidecarFile(session: Session): string {
  const dir = session.model.baseDir;
  return /^https?:\/\//i.test(dir) ? dir.replace(/\/?$/, '/') + SIDECAR_NAME : path.join(dir, SIDECAR_NAME);
}

export function checkNormalisationCounts(session: Session, given: { mean?: number[]; std?: number[] } = {}): void {
  const channels = session.model.classifier.inputShape[2];
  // `grayscale` describes the model's input: luminance for a 1-channel model, RGB for a 3-channel one.
  const gray = session.model.sidecar?.preprocess?.grayscale;
  if (gray != null && gray !== (channels === 1)) {
    throw new UsageError(`${sidecarFile(session)}: field 'preprocess.grayscale' is ${gray} but the model takes ${channels}-channel images${channels === 1 ? ' (grey)' : ' (RGB)'}`);
  }
  for (const k of ['mean', 'std'] as const) {
    const n = session.preprocess[k].length;
    if (n === 1 || n === channels) continue;
    const want = channels === 1 ? '1 value' : `1 value (for every channel) or ${channels} (one per channel)`;
    const what = `the model takes ${channels}-channel images: give ${want}`;
    if (given[k] != null) throw new UsageError(`--${k} has ${n} values but ${what}`);
    throw new UsageError(`${sidecarFile(session)}: field 'preprocess.${k}' has ${n} values but ${what}`);
  }
}
