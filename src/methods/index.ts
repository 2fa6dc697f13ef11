/** The registry of methods by command-line name. */
import { CamMethod } from './types';
import { cam } from './cam';
import { gradcam } from './gradcam';
import { gradcamPlusPlus } from './gradcam-plus-plus';
import { UsageError } from '../util/errors';

export * from './types';

const ALL: CamMethod[] = [cam, gradcam, gradcamPlusPlus];

export const METHOD_NAMES = ALL.map((m) => m.name);

export function getMethod(name: string): CamMethod {
  const m = ALL.find((x) => x.name === name.toLowerCase());
  if (!m) throw new UsageError(`unknown method '${name}' (choose from ${METHOD_NAMES.join(', ')})`);
  return m;
}
