/**
 * How each method's map is drawn (--render). Platform-free: the explain pipeline, --resume's settings, the HTML
 * report's legends and the browser page decide it the same way.
 *
 * - 'heatmap': the map normalised per map (0 = its minimum, 1 = its maximum) in a sequential colour map (--colormap).
 *   Every class activation map, and the pixel-level methods' magnitudes under --render heatmap.
 * - 'signed': a signed attribution summed over channels, on a diverging colour map centred on zero and clipped
 *   (render/signed.ts). The pixel-level methods by default.
 * - 'gradient': the papers' grey-centred RGB gradient images (render/gradient.ts), under --render gradient.
 */

/** --render: 'auto' (default) signed maps for the signed attributions; or every one as a heatmap, signed map, or gradient image. */
export type RenderMode = 'auto' | 'heatmap' | 'signed' | 'gradient';
export const RENDER_MODES: RenderMode[] = ['auto', 'heatmap', 'signed', 'gradient'];

export type Drawing = 'heatmap' | 'signed' | 'gradient';

/** The methods with a signed attribution per input channel (drawn as signed maps or gradient images). */
export const GRADIENT_METHODS = ['saliency', 'smoothgrad', 'integrated-gradients', 'guided-backprop', 'guided-gradcam'];

/** How a method's map is drawn under a render mode: class activation maps are always heatmaps. */
export function drawingOf(method: string, mode: RenderMode = 'auto'): Drawing {
  if (!GRADIENT_METHODS.includes(method) || mode === 'heatmap') return 'heatmap';
  return mode === 'gradient' ? 'gradient' : 'signed';
}

/** Whether a method's output image is a gradient image (--render gradient). */
export function drawnAsGradient(method: string, mode: RenderMode = 'auto'): boolean {
  return drawingOf(method, mode) === 'gradient';
}
