// `--method all` says what it left out: which methods, and why, from what the model allows (CAM's head, FullGrad's
// decomposition, guided ReLUs). Checked on the shipped models, whose heads and formats differ in exactly these ways.
import * as path from 'path';
import { METHOD_NAMES, leftOutNote, selectMethods } from '../../src/methods';
import { openSession } from '../../src/pipeline/session';

const MODELS = path.resolve(__dirname, '..', '..', 'models');

test('selectMethods: all leaves out what is unsupported, with its reason; methods named alone are kept', () => {
  const all = selectMethods('all');
  expect(all.methods.map((m) => m.name)).toEqual(METHOD_NAMES);
  expect(all.leftOut).toEqual([]);
  const some = selectMethods('ALL', { cam: 'no pooling', fullGrad: null, guided: 'graph model' });
  expect(some.leftOut).toEqual([
    { method: 'cam', why: 'no pooling' },
    { method: 'guided-backprop', why: 'graph model' },
    { method: 'guided-gradcam', why: 'graph model' },
  ]);
  // Nothing lost: every method either runs or is said to be left out, in the registry's order.
  expect([...some.methods.map((m) => m.name), ...some.leftOut.map((l) => l.method)].sort()).toEqual([...METHOD_NAMES].sort());
  expect(leftOutNote(some.leftOut)).toBe('--method all left out cam: no pooling; guided-backprop and guided-gradcam: graph model');
  expect(leftOutNote([])).toBeNull();
  // Asked for by name, a method is not dropped here: it runs and is refused with its reason.
  const named = selectMethods('guided-backprop, gradcam,guided-backprop', { guided: 'graph model' });
  expect(named.methods.map((m) => m.name)).toEqual(['guided-backprop', 'gradcam']);
  expect(named.leftOut).toEqual([]);
});

test('the shipped models: a graph model leaves out the guided methods and FullGrad, a head that mixes positions CAM', async () => {
  const leftOut = async (model: string, layers?: string[]) => {
    const s = await openSession({ model: path.join(MODELS, model), method: 'all', backend: 'wasm', layers });
    expect([...s.methods.map((m) => m.name), ...s.methodsLeftOut.map((l) => l.method)].sort()).toEqual([...METHOD_NAMES].sort());
    s.model.classifier.dispose();
    return s.methodsLeftOut;
  };
  // One target layer: RefineCAM (a product over layers) would be Grad-CAM++.
  const oneLayer = { method: 'refinecam', why: 'RefineCAM multiplies the maps of several target layers (--layer a --layer b); with one it is Grad-CAM++' };
  // gap-cnn: conv -> GAP -> Dense, piecewise linear: everything runs.
  expect(await leftOut('gap-cnn')).toEqual([oneLayer]);
  // With two layers, RefineCAM too (CAM at the earlier one has a 3x3 convolution in its head).
  expect((await leftOut('gap-cnn', ['relu3', 'relu4'])).map((l) => l.method)).toEqual(['cam']);
  // flatten-dense: max pooling and Flatten after the target layer: no CAM, and no second derivative for ShapleyCAM.
  expect(await leftOut('flatten-dense')).toEqual([
    { method: 'cam', why: "CAM at 'conv4': 'pool4' (MaxPooling2D) takes a maximum, which is not linear" },
    { method: 'shapleycam', why: "ShapleyCAM needs second derivatives, and the op 'MaxPoolGrad' (in the layers after layer 'conv4' or in their gradients) has no gradient in TensorFlow.js" },
    oneLayer,
  ]);
  const graph = await leftOut('resnet-bn-graph');
  expect(graph.map((l) => l.method)).toEqual(['cam', 'refinecam', 'guided-backprop', 'guided-gradcam', 'fullgrad']);
  expect(leftOutNote(graph)).toBe(
    "--method all left out cam: CAM at 'block2_relu1': 'block2_conv2' (Conv2D) is a 3x3 convolution: it mixes neighbouring positions; " +
      'refinecam: RefineCAM multiplies the maps of several target layers (--layer a --layer b); with one it is Grad-CAM++; ' +
      "guided-backprop and guided-gradcam: this is a graph model, which tfjs-converter runs with its own copy of the ops, out of reach of the guided ReLU; " +
      'fullgrad: FullGrad needs a layers model to find the biases, and this is a graph model',
  );
  // The same network as a layers model allows all but CAM at that layer (and RefineCAM with one layer).
  expect((await leftOut('resnet-bn')).map((l) => l.method)).toEqual(['cam', 'refinecam']);
});
