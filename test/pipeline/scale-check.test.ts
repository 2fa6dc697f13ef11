// The input-scale warning's rule on its own (src/pipeline/scale-check.ts); end to end: test/cli/input-scale.e2e.test.ts.
import { scaleSuspectNote } from '../../src/pipeline/scale-check';
import type { ReportImage } from '../../src/report/schema';

const img = (file: string, index: number, probability: number): ReportImage => ({ file, status: 'ok', top: [{ index, label: `c${index}`, logit: 0, probability }] });

test('three or more different images, all the same top class above 99%: one note; anything less: none', () => {
  const note = scaleSuspectNote([img('a', 4, 0.993), img('b', 4, 0.999), img('c', 4, 0.9951)], [0, 1]);
  expect(note).toBe(
    "all 3 images got the same top class, 'c4', each above 99% (lowest 99.30%): is the input scale right? They were fed pixels scaled to [0, 1] (the default); if the model expects 0..255 or -1..1, give --scale 0,255 or --scale -1,1, or set preprocess.scale in the sidecar (tfjs-cam.json beside model.json)",
  );
  // Two images, or the same image three times, are too few to tell.
  expect(scaleSuspectNote([img('a', 4, 0.999), img('b', 4, 0.999)], [0, 1])).toBeNull();
  expect(scaleSuspectNote([img('a', 4, 0.999), img('a', 4, 0.999), img('a', 4, 0.999)], [0, 1])).toBeNull();
  // One image of another class, or one at 99% or below, and the model is not saying one thing.
  expect(scaleSuspectNote([img('a', 4, 0.999), img('b', 4, 0.999), img('c', 2, 0.999)], [0, 1])).toBeNull();
  expect(scaleSuspectNote([img('a', 4, 0.999), img('b', 4, 0.99), img('c', 4, 0.999)], [0, 1])).toBeNull();
});
