/** `tfjs-cam inspect`: the layer table, the default target and CAM's verdict. */
import { inspect } from '../pipeline/inspect';
import { BackendChoice, initBackend } from '../backend';
import { loadModelFrom } from '../model/load';
import { out, printable } from './output';
import { reportError } from './errors';

function headLine(m: { head: string; binary: boolean; headActivation?: string }): string {
  if (m.head === 'linear') return 'linear (the output is taken as logits; probabilities by softmax)';
  const at = m.headActivation ? ` at ${m.headActivation}` : '';
  if (m.binary) return `sigmoid, one unit${at}: a binary classifier shown as 2 classes (1 = positive, logit z; 0 = its negation, -z)`;
  if (m.head === 'sigmoid') return `sigmoid${at}: multi-label, independent probabilities; scores are the logits before it`;
  return `softmax${at}, stepped over: scores are the logits before it`;
}

export async function runInspect(o: Record<string, unknown>): Promise<number> {
  try {
    const given = String(o.model);
    let model: Parameters<typeof inspect>[0] = given;
    if (/^https?:\/\//i.test(given)) {
      // A URL model's sidecar (its default layer) comes from the same URL folder; the backend first, as inspect does.
      // Nothing heavy is computed: the single-threaded build starts fastest.
      await initBackend(o.backend as BackendChoice, { threads: 1 });
      model = await loadModelFrom(given);
    }
    const r = await inspect(model, o.backend as BackendChoice);
    if (o.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return 0;
    }
    const m = r.model;
    const lines = [
      `model     ${printable(m.source)} (${m.format}, sha256 ${m.sha256.slice(0, 12)})`,
      `input     ${m.inputSize.join('x')}, ${m.classes} classes${m.inputRange ? `; takes ${m.inputRange.scale.join('..')} (${printable(m.inputRange.what)})` : ''}`,
      `head      ${headLine(m)}`,
      '',
    ];
    // Layer names come from the model file: shown escaped like any name (one line per layer).
    const layers = r.layers.map((l) => ({ ...l, name: printable(l.name) }));
    const nameW = Math.max(5, ...layers.map((l) => l.name.length));
    const typeW = Math.max(4, ...r.layers.map((l) => l.type.length));
    lines.push(`  ${'layer'.padEnd(nameW)}  ${'type'.padEnd(typeW)}  output`);
    for (const l of layers) {
      const mark = l.defaultTarget ? out.green('*') : l.spatial ? '.' : ' ';
      lines.push(`${mark} ${l.name.padEnd(nameW)}  ${l.type.padEnd(typeW)}  [${l.outputShape.map((d) => d ?? '?').join(', ')}]`);
    }
    lines.push('', `* default target layer: ${printable(r.defaultLayer ?? `none (${r.defaultLayerProblem})`)}   . other spatial layers (usable with --layer)`);
    lines.push(printable(r.cam.possible ? `CAM: possible at '${r.cam.layer}' (${r.cam.how})` : `CAM: not possible${r.cam.layer ? ` at '${r.cam.layer}'` : ''}: ${r.cam.reason}; Grad-CAM and the other gradient methods work`));
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } catch (e) {
    return reportError(e, !!process.env.TFJS_CAM_DEBUG);
  }
}
