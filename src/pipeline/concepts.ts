/**
 * `concepts`: Deep Feature Factorization over images (src/concepts/factorize.ts), one picture per image (each
 * concept in its own hue over the model's input, with a legend of the concepts' top classes) and concepts.json.
 */
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../image/decode';
import { collectImages } from '../batch/walk';
import { ConceptOptions, ConceptResult, factorizeConcepts } from '../concepts/factorize';
import { conceptLegendHeight, conceptLegendSvg, conceptOverlay } from '../render/concepts';
import { resizeMap } from '../render/pixels';
import { ensureDir, writeFileAtomic } from '../report/files';
import { openSession, SessionOptions } from './session';
import { prepareInput } from './explain';
import { errorMessage, UsageError } from '../util/errors';
import { TOOL_VERSION } from '../version';

export interface ConceptsOptions extends SessionOptions, ConceptOptions {
  /** Output folder; null writes no files. Default './concepts-out'. */
  out?: string | null;
  /** Overwrite existing outputs. */
  force?: boolean;
  /** Longest side of the pictures' image part in pixels (default 320); the legend is beside it. */
  size?: number;
}

export interface ConceptsReport {
  tool: { name: 'tfjs-cam'; version: string };
  model: string;
  layer: string;
  k: number;
  seed: number;
  /** ||V - W H|| / ||V|| and the NMF's update rounds. */
  relativeError: number;
  iterations: number;
  /** Per concept: its top classes (the concept's vector at every position of the layer, through the head). */
  concepts: { concept: number; hue: number; classes: { index: number; label: string; logit: number; probability: number }[] }[];
  /** Per image: its picture and each concept's share of the image's concept weight. */
  images: { file: string; picture?: string; shares: number[] }[];
}

export interface ConceptsRun {
  report: ConceptsReport;
  result: ConceptResult;
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/** Factorises the activations of every image found in `inputs` together; writes the pictures and concepts.json. */
export async function concepts(inputs: string[], opts: ConceptsOptions): Promise<ConceptsRun> {
  const { jobs, problems } = collectImages(inputs, {});
  if (problems.length) throw new UsageError(`${problems[0].input}: ${problems[0].message}`);
  if (!jobs.length) throw new UsageError(`no images found in ${inputs.join(', ')}`);
  const session = await openSession(opts);
  const xs: tf.Tensor4D[] = [];
  try {
    const pixels: Uint8Array[] = [];
    for (const job of jobs) {
      let img;
      try {
        img = await decodeImage(job.file);
      } catch (e) {
        throw new UsageError(`${job.file}: ${errorMessage(e)}`);
      }
      const p = await prepareInput(session, img);
      xs.push(p.x);
      pixels.push(p.pixels);
    }
    const classifier = session.model.classifier;
    const layer = opts.layer ?? session.layers[0];
    const result = factorizeConcepts(classifier, xs, { ...opts, layer });
    const k = result.vectors.length;
    const label = (i: number) => session.labels[i] ?? String(i);
    const report: ConceptsReport = {
      tool: { name: 'tfjs-cam', version: TOOL_VERSION },
      model: session.model.source,
      layer: result.layer,
      k,
      seed: opts.seed ?? 0,
      relativeError: round(result.relativeError, 6),
      iterations: result.iterations,
      concepts: result.classes.map((cs, j) => ({ concept: j + 1, hue: round(j / k, 4), classes: cs.map((c) => ({ index: c.index, label: label(c.index), logit: round(c.logit), probability: round(c.probability) })) })),
      images: jobs.map((j, i) => ({ file: j.file, shares: result.shares[i].map((s) => round(s)) })),
    };
    const outDir = opts.out === null ? null : path.resolve(opts.out ?? 'concepts-out');
    if (outDir) {
      await ensureDir(outDir);
      const [h, w, c] = classifier.inputShape;
      const scale = (opts.size ?? 320) / Math.max(h, w);
      const W = Math.max(1, Math.round(w * scale)), H = Math.max(1, Math.round(h * scale));
      const lines = report.concepts.map((cn) => [`concept ${cn.concept}`, ...cn.classes.map((cl) => `${cl.label}: ${cl.probability.toFixed(2)}`)]);
      const legendW = 200;
      const legendH = Math.max(H, conceptLegendHeight(lines));
      for (const [i, job] of jobs.entries()) {
        // The model's input as RGB (a grayscale model's one channel repeated), shown at the picture's size.
        const src = pixels[i];
        const rgbSmall = c === 3 ? src : Uint8Array.from({ length: h * w * 3 }, (_, q) => src[Math.floor(q / 3) * c]);
        const rgb = new Uint8Array(await sharp(Buffer.from(rgbSmall), { raw: { width: w, height: h, channels: 3 } }).resize(W, H, { kernel: 'nearest' }).raw().toBuffer());
        const maps = result.maps[i].map((m) => resizeMap(m, w, h, W, H));
        const picture = conceptOverlay(rgb, W, H, maps);
        const legend = await sharp(Buffer.from(conceptLegendSvg(lines, legendW, legendH))).png().toBuffer();
        const png = await sharp({ create: { width: W + legendW, height: legendH, channels: 3, background: { r: 255, g: 255, b: 255 } } })
          .composite([
            { input: Buffer.from(picture), raw: { width: W, height: H, channels: 3 }, left: 0, top: 0 },
            { input: legend, left: W, top: 0 },
          ])
          .png()
          .toBuffer();
        const rel = `${job.rel.slice(0, job.rel.length - path.extname(job.rel).length)}.concepts.png`;
        const file = path.join(outDir, rel);
        await ensureDir(path.dirname(file));
        await writeFileAtomic(file, png, { overwrite: !!opts.force });
        report.images[i].picture = rel;
      }
      await writeFileAtomic(path.join(outDir, 'concepts.json'), JSON.stringify(report, null, 2) + '\n', { overwrite: !!opts.force });
    }
    return { report, result };
  } finally {
    tf.dispose(xs);
    if (typeof opts.model === 'string') session.model.dispose();
  }
}
