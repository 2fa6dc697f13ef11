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
import { shapleycam } from './shapleycam';
import { finercam } from './finercam';
import { refinecam } from './refinecam';
import { fem } from './fem';
import { kpcaCam } from './kpca-cam';
import { UsageError } from '../util/errors';

export * from './types';

const ALL: CamMethod[] = [cam, gradcam, gradcamPlusPlus, smoothGradcamPlusPlus, xgradcam, layercam, hirescam, gradcamElementwise, scorecam, ablationcam, eigencam, eigengradcam, shapleycam, finercam, refinecam, fem, kpcaCam, saliency, smoothgrad, integratedGradients, guidedBackprop, guidedGradcam, fullgrad];

export { METHOD_NAMES } from './names';
import { METHOD_NAMES } from './names';

// The light name list (for --help) and the registry must agree.
if (ALL.map((m) => m.name).join() !== METHOD_NAMES.join()) throw new Error('methods/names.ts is out of date');

export function getMethod(name: string): CamMethod {
  const m = ALL.find((x) => x.name === name.trim().toLowerCase());
  if (!m) throw new UsageError(`unknown method '${name}' (choose from ${METHOD_NAMES.join(', ')}, or all)`);
  return m;
}

/** Why each kind of method cannot run for this model and these target layers; absent or null: it can. */
export interface MethodSupport {
  cam?: string | null;
  fullGrad?: string | null;
  guided?: string | null;
  /** RefineCAM multiplies the maps of several target layers: with one it is Grad-CAM++, so 'all' leaves it out. */
  refine?: string | null;
  /** ShapleyCAM needs second derivatives through the head, which tfjs lacks for some ops (max pooling's gradient). */
  shapley?: string | null;
}

/** A method that 'all' left out, and why. */
export interface LeftOutMethod {
  method: string;
  why: string;
}

/**
 * 'a,b,c' or 'all' -> methods, in the order given (duplicates dropped). 'all' leaves out CAM, FullGrad and the
 * guided methods where the model cannot do them (`unsupported` says why), and says so in `leftOut`; a method
 * named alone is kept, and refused with its reason when it runs.
 */
export function selectMethods(spec: string, unsupported: MethodSupport = {}): { methods: CamMethod[]; leftOut: LeftOutMethod[] } {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0].toLowerCase() === 'all') {
    const whyNot = (m: CamMethod): string | null | undefined => (m === cam ? unsupported.cam : m === fullgrad ? unsupported.fullGrad : m.needs.includes('guided-relu') ? unsupported.guided : m === refinecam ? unsupported.refine : m === shapleycam ? unsupported.shapley : null);
    return {
      methods: ALL.filter((m) => !whyNot(m)),
      leftOut: ALL.flatMap((m) => {
        const why = whyNot(m);
        return why ? [{ method: m.name, why }] : [];
      }),
    };
  }
  const out: CamMethod[] = [];
  for (const n of names) {
    const m = getMethod(n);
    if (!out.includes(m)) out.push(m);
  }
  if (!out.length) throw new UsageError('no method given');
  return { methods: out, leftOut: [] };
}

/** selectMethods' methods, with each kind of method said possible or not. */
export function parseMethods(spec: string, camPossible = true, fullGradPossible = true, guidedPossible = true): CamMethod[] {
  const no = 'not possible for this model';
  return selectMethods(spec, { cam: camPossible ? null : no, fullGrad: fullGradPossible ? null : no, guided: guidedPossible ? null : no }).methods;
}

/**
 * One line for the run's notes: the methods 'all' left out, those with the same reason together
 * ("--method all left out guided-backprop and guided-gradcam: why; fullgrad: why"); null when none was.
 */
export function leftOutNote(leftOut: LeftOutMethod[]): string | null {
  if (!leftOut.length) return null;
  const byWhy = new Map<string, string[]>();
  for (const l of leftOut) byWhy.set(l.why, [...(byWhy.get(l.why) ?? []), l.method]);
  const and = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : xs[0]);
  return `--method all left out ${[...byWhy].map(([why, methods]) => `${and(methods)}: ${why}`).join('; ')}`;
}
