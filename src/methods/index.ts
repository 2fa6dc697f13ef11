/** The registry of methods by command-line name. */
import { CamMethod } from './types';
import { cam } from './cam';
import { gradcam } from './gradcam';
import { gradcamPlusPlus } from './gradcam-plus-plus';
import { smoothGradcamPlusPlus } from './smooth-gradcam-plus-plus';
import { xgradcam } from './xgradcam';
import { hirescam, gradcamElementwise, layercam } from './elementwise';
import { eigencam, eigengradcam } from './eigencam';
import { scorecam } from './scorecam';
import { ablationcam } from './ablationcam';
import { saliency, smoothgrad, integratedGradients } from './pixel';
import { guidedBackprop, guidedGradcam } from './guided';
import { fullgrad } from './fullgrad';
import { UsageError } from '../util/errors';

export * from './types';

const ALL: CamMethod[] = [cam, gradcam, gradcamPlusPlus, smoothGradcamPlusPlus, xgradcam, layercam, hirescam, gradcamElementwise, scorecam, ablationcam, eigencam, eigengradcam, saliency, smoothgrad, integratedGradients, guidedBackprop, guidedGradcam, fullgrad];

export { METHOD_NAMES } from './names';
import { METHOD_NAMES } from './names';

// The light name list (for --help) and the registry must agree.
if (ALL.map((m) => m.name).join() !== METHOD_NAMES.join()) throw new Error('methods/names.ts is out of date');

export function getMethod(name: string): CamMethod {
  const m = ALL.find((x) => x.name === name.trim().toLowerCase());
  if (!m) throw new UsageError(`unknown method '${name}' (choose from ${METHOD_NAMES.join(', ')}, or all)`);
  return m;
}

/**
 * 'a,b,c' or 'all' -> methods, in the order given (duplicates dropped). 'all' leaves out CAM, FullGrad and the
 * guided methods where the model cannot do them.
 */
export function parseMethods(spec: string, camPossible = true, fullGradPossible = true, guidedPossible = true): CamMethod[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0].toLowerCase() === 'all') {
    return ALL.filter((m) => (camPossible || m !== cam) && (fullGradPossible || m !== fullgrad) && (guidedPossible || !m.needs.includes('guided-relu')));
  }
  const out: CamMethod[] = [];
  for (const n of names) {
    const m = getMethod(n);
    if (!out.includes(m)) out.push(m);
  }
  if (!out.length) throw new UsageError('no method given');
  return out;
}
