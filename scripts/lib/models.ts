/**
 * The project's own classifiers for 64x64 "digits in clutter" canvases (scripts/data/clutter.ts). Each one stands
 * for a family of real models the tool must handle; layer names are chosen to be readable in reports because the
 * default target layer is named in each model's sidecar.
 *
 * Every initializer gets an explicit seed: tfjs otherwise seeds weight init from Math.random, and the training
 * runs are meant to be reproducible.
 */
import * as tf from '@tensorflow/tfjs';
import { CANVAS_SIZE, NUM_CLASSES } from '../data/clutter';

export type ModelName = 'gap-cnn' | 'resnet-bn' | 'flatten-dense';
export const MODEL_NAMES: ModelName[] = ['gap-cnn', 'resnet-bn', 'flatten-dense'];

export interface ModelSpec {
  model: tf.LayersModel;
  /** Default target layer for Grad-CAM / CAM (sidecar "layer"). */
  targetLayer: string;
  description: string;
}

type Initializer = ReturnType<typeof tf.initializers.heNormal>;

/** Hands out consecutive seeds, one per initializer, in layer order. */
class Seeds {
  private n = 0;
  constructor(private readonly base: number) {}
  he(): Initializer {
    return tf.initializers.heNormal({ seed: this.base + this.n++ });
  }
  glorot(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.base + this.n++ });
  }
}

const INPUT_SHAPE = [CANVAS_SIZE, CANVAS_SIZE, 1];

/**
 * The CAM paper's design: convolutions, GlobalAveragePooling2D, one Dense layer. CAM needs exactly this shape
 * (the class weights of the Dense layer weight the channels of the last conv). The last conv runs at 16x16
 * (1/4 of the input), fine enough for CAM to localise a 20-30 px digit. The Dense layer has a softmax on
 * purpose: the tool must take the pre-softmax score.
 */
export function buildGapCnn(seed: number): ModelSpec {
  const s = new Seeds(seed);
  const input = tf.input({ shape: INPUT_SHAPE, name: 'input' });
  // conv -> BN -> ReLU blocks: BatchNormalization makes the small net train several times faster, which is what
  // lets it reach its accuracy in minutes on 2 cores. The strided 5x5 first layer: full-resolution feature maps
  // are what training time goes on, and a digit stroke (2-4 px) survives a stride of 2.
  const block = (x: tf.SymbolicTensor, filters: number, i: number, kernelSize = 3, strides = 1) => {
    x = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: s.he(), name: `conv${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, name: `bn${i}` }).apply(x) as tf.SymbolicTensor;
    return tf.layers.activation({ activation: 'relu', name: `relu${i}` }).apply(x) as tf.SymbolicTensor;
  };
  let x = block(input, 16, 1, 5, 2); // 32x32
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as tf.SymbolicTensor; // 16x16
  x = block(x, 32, 2);
  x = block(x, 48, 3);
  x = block(x, 48, 4); // receptive field 31 px
  // The CAM layer: a plain 1x1 conv + ReLU feeding global average pooling directly. Wide and cheap: the linear
  // classifier after the pooling sees 96 class-evidence channels.
  x = tf.layers.conv2d({ filters: 96, kernelSize: 1, padding: 'same', activation: 'relu', kernelInitializer: s.he(), name: 'conv5' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: s.glorot(), name: 'predictions' }).apply(x) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: out, name: 'gap_cnn' }),
    targetLayer: 'conv5',
    description:
      'CAM-style CNN for 64x64 grayscale digits in clutter: conv 5x5/2 (16) -> max-pool -> 3 conv 3x3 (32-48-48) at ' +
      '16x16, each conv followed by BatchNormalization + ReLU -> conv5 1x1 (96, ReLU) -> GlobalAveragePooling2D -> ' +
      'Dense(10, softmax). Target layer conv5 (16x16x96) feeds the global average pooling directly (CAM applies).',
  };
}

/**
 * A small ResNet with BatchNormalization. The default target layer (block2_relu1) sits INSIDE the last residual
 * block: block2's input reaches block2_add both through block2_relu1 and through the identity skip path, so a
 * gradient taken at block2_relu1 must not be confused by the branch that bypasses it. Plain logits.
 */
export function buildResnetBn(seed: number): ModelSpec {
  const s = new Seeds(seed);
  const conv = (filters: number, name: string, kernelSize = 3, strides = 1) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: s.he(), name });
  const bn = (name: string) => tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3, name });
  const relu = (name: string) => tf.layers.activation({ activation: 'relu', name });
  const ap = (layer: tf.layers.Layer, ...xs: tf.SymbolicTensor[]) => layer.apply(xs.length === 1 ? xs[0] : xs) as tf.SymbolicTensor;

  const input = tf.input({ shape: INPUT_SHAPE, name: 'input' });
  let x = ap(relu('stem_relu'), ap(bn('stem_bn'), ap(conv(16, 'stem_conv', 5, 2), input))); // 32x32x16
  x = ap(tf.layers.maxPooling2d({ poolSize: 2, name: 'stem_pool' }), x); // 16x16x16

  // block1: 16 -> 32 channels, 1x1 projection on the skip path.
  let y = ap(relu('block1_relu1'), ap(bn('block1_bn1'), ap(conv(32, 'block1_conv1'), x)));
  y = ap(bn('block1_bn2'), ap(conv(32, 'block1_conv2'), y));
  const proj = ap(bn('block1_proj_bn'), ap(conv(32, 'block1_proj', 1), x));
  x = ap(relu('block1_out'), ap(tf.layers.add({ name: 'block1_add' }), proj, y));

  // block2: identity block at 16x16x32; its inner activation is the default target layer.
  y = ap(relu('block2_relu1'), ap(bn('block2_bn1'), ap(conv(32, 'block2_conv1'), x)));
  y = ap(bn('block2_bn2'), ap(conv(32, 'block2_conv2'), y));
  x = ap(relu('block2_out'), ap(tf.layers.add({ name: 'block2_add' }), x, y));

  // A wide 1x1 head before the pooling (as in MobileNetV2): more channels for the linear classifier, cheaply.
  x = ap(relu('head_relu'), ap(bn('head_bn'), ap(conv(96, 'head_conv', 1), x)));
  x = ap(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  const out = ap(tf.layers.dense({ units: NUM_CLASSES, kernelInitializer: s.glorot(), name: 'logits' }), x);
  return {
    model: tf.model({ inputs: input, outputs: out, name: 'resnet_bn' }),
    targetLayer: 'block2_relu1',
    description:
      'Small ResNet with BatchNormalization for 64x64 grayscale digits in clutter: stem conv 5x5/2 (16) + BN + ReLU + ' +
      'max-pool -> residual block1 (16->32, 1x1 projection skip) -> residual block2 (32, identity skip) -> ' +
      '1x1 conv (96) + BN + ReLU -> GlobalAveragePooling2D -> Dense(10) logits. All blocks at 16x16. Target layer ' +
      'block2_relu1 (16x16x32) is inside block2, bypassed by its identity skip path into block2_add.',
  };
}

/**
 * Convolutions, then Flatten -> Dense -> Dense: the classic design CAM cannot explain (no global pooling), while
 * Grad-CAM still can. Plain logits.
 */
export function buildFlattenDense(seed: number): ModelSpec {
  const s = new Seeds(seed);
  const input = tf.input({ shape: INPUT_SHAPE, name: 'input' });
  const block = (x: tf.SymbolicTensor, filters: number, i: number, kernelSize = 3, strides = 1) => {
    x = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: s.he(), name: `conv${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, name: `bn${i}` }).apply(x) as tf.SymbolicTensor;
    return tf.layers.activation({ activation: 'relu', name: `relu${i}` }).apply(x) as tf.SymbolicTensor;
  };
  let x = block(input, 16, 1, 5, 2); // 32x32
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as tf.SymbolicTensor; // 16x16
  x = block(x, 32, 2);
  x = block(x, 48, 3);
  x = tf.layers.conv2d({ filters: 48, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: s.he(), name: 'conv4' }).apply(x) as tf.SymbolicTensor;
  // A 4x4 max-pool before flattening: the dense layers must learn every digit position separately, and a
  // coarser grid (4x4 cells of 16 px) leaves them far fewer positions to learn.
  x = tf.layers.maxPooling2d({ poolSize: 4, name: 'pool4' }).apply(x) as tf.SymbolicTensor; // 4x4x48
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: s.he(), name: 'fc1' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: NUM_CLASSES, kernelInitializer: s.glorot(), name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: out, name: 'flatten_dense' }),
    targetLayer: 'conv4',
    description:
      'CNN with a dense head for 64x64 grayscale digits in clutter: conv 5x5/2 (16) + BN + ReLU -> max-pool -> ' +
      '2 conv 3x3 (32-48) + BN + ReLU -> conv4 3x3 (48, ReLU) -> 4x4 max-pool -> Flatten (4x4x48) -> ' +
      'Dense(128, ReLU) -> Dense(10) logits. No global pooling, so CAM does not apply; Grad-CAM at conv4 (16x16x48) does.',
  };
}

export function buildModel(name: ModelName, seed: number): ModelSpec {
  switch (name) {
    case 'gap-cnn':
      return buildGapCnn(seed);
    case 'resnet-bn':
      return buildResnetBn(seed);
    case 'flatten-dense':
      return buildFlattenDense(seed);
  }
}
