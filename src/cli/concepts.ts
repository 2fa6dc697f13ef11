/** `tfjs-cam concepts`: Deep Feature Factorization over images (src/pipeline/concepts.ts). */
import { concepts } from '../pipeline/concepts';
import { out, printable } from './output';
import { reportError } from './errors';
import { parseIntFlag, preprocessFromFlags } from './flags';
import type { BackendChoice } from '../backend';

export async function runConcepts(images: string[], o: Record<string, unknown>): Promise<number> {
  try {
    const { report } = await concepts(images, {
      model: String(o.model),
      backend: o.backend as BackendChoice,
      threads: o.threads == null ? undefined : parseIntFlag(o.threads, '--threads', 1),
      labels: o.labels as string | undefined,
      preprocess: preprocessFromFlags(o),
      layer: o.layer as string | undefined,
      k: parseIntFlag(o.k ?? '4', '-k', 1),
      seed: parseIntFlag(o.seed ?? '0', '--seed', 0),
      topClasses: parseIntFlag(o.topClasses ?? '3', '--top-classes', 1),
      out: String(o.out),
      force: !!o.force,
    });
    if (o.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    const lines = [`${report.k} concepts at '${printable(report.layer)}' over ${report.images.length} image${report.images.length === 1 ? '' : 's'} (NMF seed ${report.seed}, relative error ${report.relativeError.toFixed(3)})`];
    for (const c of report.concepts) lines.push(`  concept ${c.concept}: ${c.classes.map((cl) => `${printable(cl.label)} ${(cl.probability * 100).toFixed(1)}%`).join(', ')}`);
    lines.push(`${out.green('ok')}   pictures and concepts.json in ${printable(String(o.out))}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } catch (e) {
    return reportError(e, !!process.env.TFJS_CAM_DEBUG);
  }
}
