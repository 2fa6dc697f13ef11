/**
 * What a method costs, in passes through the model, for the explorer's estimate before a slow method starts.
 * Score-CAM scores every channel of the target layer with a forward pass of a masked input; Ablation-CAM every
 * channel with a pass through the head (the layers after the target layer); Integrated Gradients takes a forward and
 * a backward pass (about 3 forward passes' work) per step; SmoothGrad and Smooth Grad-CAM++ the same per noisy copy.
 * The others: one forward and one backward pass. Multiplied by the time of one forward pass of this image (measured
 * when it was opened), this is the order of magnitude a user needs before deciding.
 *
 * For Score-CAM and Ablation-CAM it is an upper bound: Score-CAM's passes run in batches, cheaper per input than one
 * at a time (Darknet-tiny at leaky_re_lu_15 on WASM: 22 s for an estimate of 58 s), and Ablation-CAM's head is only
 * part of the model (1.3 s for the same estimate there). Integrated Gradients came out at 37 s for 45 s. Once the
 * first batches are done, the page replaces it with the time left at the rate measured (estimateLeft).
 */

/** The methods that take many passes; Compare leaves them unticked, and the page gives their estimate before they start. */
export const SLOW_METHODS = ['scorecam', 'ablationcam', 'integrated-gradients'];

/** Methods whose estimate is an upper bound (see above). */
export const BOUNDED_ESTIMATES = ['scorecam', 'ablationcam'];

/** Forward-pass equivalents of one method for one class at a layer with `channels` channels. */
export function passesOf(method: string, channels: number, o: { igSteps: number; noiseSamples: number }): number {
  switch (method) {
    case 'scorecam':
    case 'ablationcam':
      return channels + 1;
    case 'integrated-gradients':
      return 3 * (o.igSteps + 1);
    case 'smoothgrad':
    case 'smoothgradcam++':
      return 3 * (o.noiseSamples + 1);
    case 'cam':
    case 'eigencam':
      return 1;
    default:
      return 3;
  }
}

/** "1.2 s", "40 s", "3 min": rounded as an estimate should be. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${Math.max(0.1, Number(s.toFixed(1)))} s`;
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

/** The time left at the rate so far: `elapsedMs` for `done` of `total` steps; null before the first step is done. */
export function estimateLeft(elapsedMs: number, done: number, total: number): number | null {
  if (!(done > 0) || !(total > done)) return null;
  return (elapsedMs * (total - done)) / done;
}
