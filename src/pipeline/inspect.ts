/** What a model offers for class activation maps: layers, default target, whether CAM works. */
import { LayerInfo } from '../model/classifier';
import { LoadedModel, loadModelFrom } from '../model/load';
import { resolveLayers } from '../model/resolve';
import { BackendChoice, initBackend } from '../backend';
import { UserError } from '../util/errors';
import type { ExplainReport } from '../report/schema';

export interface Inspection {
  /** As in the explain report, with `binary` always present. */
  model: Omit<ExplainReport['model'], 'binary'> & { binary: boolean; /** The pixel range the model's own first layers or ops take, and which they are (absent: they say nothing). */ inputRange?: { scale: [number, number]; what: string } };
  layers: (LayerInfo & { defaultTarget: boolean })[];
  defaultLayer: string | null;
  /** Why there is no default layer, when there is none. */
  defaultLayerProblem?: string;
  cam: { possible: boolean; layer: string | null; how?: string; reason?: string };
}

export async function inspect(model: string | LoadedModel, backend: BackendChoice = 'auto'): Promise<Inspection> {
  await initBackend(backend);
  const m = typeof model === 'string' ? await loadModelFrom(model) : model;
  try {
    const c = m.classifier;
    let defaultLayer: string | null = null;
    let problem: string | undefined;
    try {
      // The first of the layers explain would take: the sidecar's, else the default (the model resolution's rule).
      defaultLayer = resolveLayers(c, undefined, m.sidecar)[0];
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      problem = e.message;
    }
    let cam: Inspection['cam'] = { possible: false, layer: defaultLayer, reason: problem ?? 'no target layer' };
    if (defaultLayer) {
      const head = c.camHead(defaultLayer);
      if (head.kind === 'weights') head.weights.dispose();
      cam =
        head.kind === 'none'
          ? { possible: false, layer: defaultLayer, reason: head.reason }
          : { possible: true, layer: defaultLayer, how: head.kind === 'channels' ? `channels of '${defaultLayer}' are the class maps` : `weights of ${head.path[head.path.length - 1]} after ${head.path[0]}` };
    }
    return {
      model: {
        source: m.source,
        format: m.format,
        sha256: m.sha256,
        inputSize: c.inputShape,
        classes: c.numClasses,
        softmaxSteppedOver: c.softmaxSteppedOver,
        head: c.head.kind,
        binary: c.head.binary,
        ...(c.head.activationAt ? { headActivation: c.head.activationAt } : {}),
        ...(c.inputRange ? { inputRange: c.inputRange } : {}),
      },
      layers: c.layers().map((l) => ({ ...l, defaultTarget: l.name === defaultLayer })),
      defaultLayer,
      ...(problem ? { defaultLayerProblem: problem } : {}),
      cam,
    };
  } finally {
    if (typeof model === 'string') m.dispose();
  }
}
