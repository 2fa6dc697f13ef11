/**
 * What a method costs, in passes through the model, for the explorer's estimate before a slow method starts.
 * Score-CAM scores every channel of the target layer with a forward pass of a masked input; Ablation-CAM every
 * channel with a pass through the head (counted as a whole pass: an upper bound); Integrated Gradients takes a
 * forward and backward pass (about 3 forward passes' work) per step; SmoothGrad and Smooth Grad-CAM++ the same per
 * noisy copy. The others: one forward and one backward pass. Multiplied by the time of one forward pass of this
 * image (measured when it was opened), this is the order of magnitude a user needs to decide, not a promise:
 * batches run faster per input than single passes, and the head alone is cheaper than the whole model.
 */

/** The methods that take many passes; Compare leaves them unticked, and the page gives their estimate before they start. */
export const SLOW_METHODS = ['scorecam', 'ablationcam', 'integrated-gradients'];

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
