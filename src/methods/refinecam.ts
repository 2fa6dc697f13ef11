/**
 * RefineCAM, as pytorch-grad-cam computes it: Grad-CAM++ at each target layer, each layer's map normalised and
 * resized to the input (as every method's), then their product, normalised. The product keeps only what every
 * layer agrees on, which cleans the noisy maps of early layers. The per-layer maps are Grad-CAM++'s; the product is
 * taken where layers are combined (maps.ts), asked for by `aggregate`. With one target layer it is Grad-CAM++.
 */
import { CamMethod } from './types';
import { gradcamPlusPlus } from './gradcam-plus-plus';

export const refinecam: CamMethod = {
  name: 'refinecam',
  title: 'RefineCAM',
  needs: gradcamPlusPlus.needs,
  aggregate: 'product',
  compute: (inputs) => gradcamPlusPlus.compute(inputs),
};
