/**
 * The symptom of a wrong input scale where nothing says the right one: a model that rescales its input itself,
 * fed the default [0, 1], sees nearly black images and gives one class, sure of it, for every photo. Judged once
 * per run over every image's top class (batch workers' images included), said as one note.
 */
import type { ReportImage } from '../report/schema';

/** How many different images must agree, and how sure each must be, before the run looks suspect. */
export const SUSPECT_IMAGES = 3;
export const SUSPECT_PROBABILITY = 0.99;

/**
 * A note when at least SUSPECT_IMAGES different images (by file) were explained and every one of them has the same
 * top-1 class above SUSPECT_PROBABILITY; else null. `scale` is the range the images were fed.
 */
export function scaleSuspectNote(images: ReportImage[], scale: [number, number]): string | null {
  const tops = images.map((i) => ({ file: i.file, top: i.top?.[0] })).filter((t) => t.top != null);
  if (new Set(tops.map((t) => t.file)).size < SUSPECT_IMAGES || tops.length !== images.length) return null;
  const first = tops[0].top!;
  if (!tops.every((t) => t.top!.index === first.index && t.top!.probability > SUSPECT_PROBABILITY)) return null;
  const lowest = Math.min(...tops.map((t) => t.top!.probability));
  return (
    `all ${tops.length} images got the same top class, '${first.label}', each above ${SUSPECT_PROBABILITY * 100}% (lowest ${(lowest * 100).toFixed(2)}%): is the input scale right? ` +
    `They were fed pixels scaled to [${scale.join(', ')}] (the default); if the model expects 0..255 or -1..1, give --scale 0,255 or --scale -1,1, ` +
    `or set preprocess.scale in the sidecar (tfjs-cam.json beside model.json)`
  );
}
