/**
 * Manifest entries -> the variables of the flat model they belong to.
 *
 * tfjs loads a weight only under the exact name of its variable, `<layer>/<variable>`. Manifests name weights in
 * other ways too:
 * - Keras 2 and tfjs write `<layer>/<variable>`, and a name used by layers of two nested models twice (the k-th
 *   entry belongs to the k-th such layer, in the order Keras and tfjs list a model's weights);
 * - Keras 3 writes a variable's path, which starts with the models whose name scope it was created in: a
 *   Sequential builds its layers inside its own scope (`sequential_19/batch_normalization/gamma`,
 *   `outer/inner/conv2d/kernel`), a Functional model does not, and a layer built before it was put in a model has
 *   no prefix at all (`Conv1/kernel` inside a Sequential).
 * So an entry `a/b/layer/var` may belong to a layer named `layer` whose enclosing models, outermost first, end with
 * `a, b` (any number of them, none included). Each entry is matched to the one layer it can belong to; where
 * several could, those claimed without doubt by other entries are ruled out first. What stays open is refused,
 * naming the candidates, rather than guessed.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../util/errors';
import { q } from './validate';

/** Layers that hold no weights: a name shared with them does not make the manifest ambiguous. */
export const WEIGHTLESS: ReadonlySet<string> = new Set([
  'InputLayer', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'ThresholdedReLU', 'Add', 'Subtract', 'Multiply',
  'Average', 'Maximum', 'Minimum', 'Concatenate', 'Dot', 'Flatten', 'Reshape', 'Permute', 'RepeatVector', 'Dropout',
  'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ZeroPadding1D',
  'ZeroPadding2D', 'Cropping2D', 'UpSampling2D', 'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D',
  'AveragePooling2D', 'AveragePooling3D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D',
  'GlobalMaxPooling2D', 'Rescaling', 'CenterCrop', 'Resizing', 'Masking',
]);

/** A layer of the flat model, as the manifest may name it. */
export interface WeightOwner {
  /** Its name in the flat model: what the variable's name starts with. */
  flatName: string;
  /** Its name in the model that held it. */
  original: string;
  /** The models around it, the top model first. */
  scopes: string[];
  className: string;
}

/** Names the manifest may give the layer: its flat name, and its own name after any trailing run of its scopes. */
function namesOf(o: WeightOwner): string[] {
  const names = new Set([o.flatName]);
  for (let i = 0; i <= o.scopes.length; i++) names.add([...o.scopes.slice(i), o.original].join('/'));
  return [...names];
}

/** An entry split at the longest name of a layer that is a '/'-prefix of it: owner candidates and variable name. */
interface Parsed {
  candidates: number[];
  variable: string;
}

function parse(name: string, byName: Map<string, number[]>): Parsed {
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const owners = byName.get(name.slice(0, i));
    if (owners) return { candidates: owners, variable: name.slice(i + 1) };
  }
  return { candidates: [], variable: '' };
}

const describe = (o: WeightOwner): string => {
  const path = [...o.scopes.slice(1), o.original].join('/');
  return path === o.flatName ? q(o.flatName) : `${q(o.flatName)} (${path})`;
};

/**
 * The manifest entries, renamed `<flat layer name>/<variable>` where they belong to a layer under another name.
 * Order is kept (the weight data follows it). Entries that match no layer are left as they are: tfjs names them
 * when it finds no variable for them. Throws a ModelError starting with `where` for a real ambiguity.
 */
export function matchWeightNames(owners: WeightOwner[], specs: tf.io.WeightsManifestEntry[], where: string): tf.io.WeightsManifestEntry[] {
  const byName = new Map<string, number[]>();
  owners.forEach((o, i) => {
    if (WEIGHTLESS.has(o.className)) return;
    for (const n of namesOf(o)) {
      const list = byName.get(n) ?? [];
      if (!list.includes(i)) byName.set(n, [...list, i]);
    }
  });
  const parsed = specs.map((s) => parse(s.name, byName));
  const owner: (number | undefined)[] = specs.map(() => undefined);
  // Variable slot `<owner index>/<variable>` -> the entry that fills it.
  const taken = new Map<string, number>();
  const slot = (o: number, s: number) => `${o}/${parsed[s].variable}`;
  const assign = (s: number, o: number) => {
    const prior = taken.get(slot(o, s));
    if (prior !== undefined) {
      const who = specs[prior].name === specs[s].name ? `two weights are named ${q(specs[s].name)}` : `weights ${q(specs[prior].name)} and ${q(specs[s].name)} both name it`;
      throw new ModelError(`${where}: the weights manifest gives variable ${q(parsed[s].variable)} of layer ${describe(owners[o])} twice: ${who}`);
    }
    taken.set(slot(o, s), s);
    owner[s] = o;
  };
  const open = () => specs.map((_, s) => s).filter((s) => owner[s] === undefined && parsed[s].candidates.length > 0);
  const free = (s: number) => parsed[s].candidates.filter((o) => !taken.has(slot(o, s)));

  // Entries that can belong to one layer only, then those left with one once the others are placed.
  for (const s of open()) if (parsed[s].candidates.length === 1) assign(s, parsed[s].candidates[0]);
  for (let progress = true; progress; ) {
    progress = false;
    for (const s of open()) {
      const f = free(s);
      if (f.length === 0) assign(s, parsed[s].candidates[0]); // throws: every candidate is filled already
      if (f.length === 1) {
        assign(s, f[0]);
        progress = true;
      }
    }
  }
  // Left: entries of one name for as many layers of that name (Keras 2's repeated names), paired in order.
  const groups = new Map<string, number[]>();
  for (const s of open()) groups.set(specs[s].name, [...(groups.get(specs[s].name) ?? []), s]);
  for (const [name, group] of groups) {
    const f = free(group[0]);
    if (f.length !== group.length) {
      const layers = f.map((o) => describe(owners[o]));
      const list = layers.length === 2 ? layers.join(' or ') : `${layers.slice(0, -1).join(', ')} or ${layers[layers.length - 1]}`;
      const what = group.length === 1 ? `weight ${q(name)} could belong to layer ${list}` : `${group.length} weights named ${q(name)} could belong to layers ${list}`;
      throw new ModelError(`${where}: the weights manifest is ambiguous: ${what}; rename the layers so that their names differ`);
    }
    group.forEach((s, k) => assign(s, f[k]));
  }
  return specs.map((spec, s) => {
    const o = owner[s];
    if (o === undefined) return spec;
    const name = `${owners[o].flatName}/${parsed[s].variable}`;
    return name === spec.name ? spec : { ...spec, name };
  });
}
