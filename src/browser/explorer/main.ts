/**
 * The explorer page served by `tfjs-cam serve` (its HTML is src/serve/page.ts). Everything is computed here, in
 * the browser, with the tfjs-cam bundle: pick or drop an image, see the top classes, click one to see its map,
 * switch method and layer, move the opacity, compare methods side by side, download the overlay as PNG.
 *
 * For tests and scripts the page keeps its state on `window.tfjsCam` and in `document.body.dataset.state`
 * ('loading', 'ready', 'busy', 'error': the model could not be used).
 */
import * as tfc from '../index';
import type { BrowserModel, ModelInput, Prediction, RgbImage, ColormapName, Placement } from '../index';

interface Config {
  /** URL of model.json. */
  model: string;
  /** The model's name to show. */
  name: string;
  /** URL of a labels file, or null. */
  labels: string | null;
  images: { name: string; url: string }[];
  method: string | null;
  layer: string | null;
  topK: number;
  preprocess?: Partial<tfc.Preprocessing>;
  interpolation?: tfc.Interpolation;
  alignCorners?: boolean;
}

interface ShownMap {
  method: string;
  layer: string;
  classIndex: number;
  label: string;
  /** At the model's input resolution, inputHeight x inputWidth, values in 0..1. */
  map: Float32Array;
  raw: { layer: string; data: Float32Array; height: number; width: number }[];
  flat: boolean;
}

interface PageState {
  state: 'loading' | 'ready' | 'busy' | 'error';
  backend: string | null;
  model: string | null;
  image: string | null;
  top: Prediction[];
  shown: ShownMap | null;
  compared: ShownMap[];
  message: string;
  /** How many times maps were computed (moving the slider recomputes nothing). */
  computations: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const page: PageState = { state: 'loading', backend: null, model: null, image: null, top: [], shown: null, compared: [], message: '', computations: 0 };
(window as unknown as { tfjsCam: unknown }).tfjsCam = {
  page,
  /** The map on show as plain numbers, for tests: `{ ..., map: number[] }`. */
  shownMap: () => (page.shown ? { ...page.shown, map: Array.from(page.shown.map), raw: page.shown.raw.map((r) => ({ ...r, data: Array.from(r.data) })) } : null),
};

let model: BrowserModel;
let current: { name: string; image: RgbImage; input: ModelInput } | null = null;
let selectedClass: number | null = null;

function setState(state: PageState['state']): void {
  page.state = state;
  document.body.dataset.state = state;
}

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  page.message = text;
  const m = $('message');
  m.textContent = text;
  m.className = kind;
}

/** Lets the browser paint the "working" state before a long synchronous tfjs call. */
const nextFrame = () => new Promise<void>((r) => setTimeout(r, 0));

function option(select: HTMLSelectElement, value: string, text = value): void {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  select.append(o);
}

function methodsFor(layer: string): string[] {
  const cam = model.camPossible(layer);
  return tfc.BROWSER_METHODS.filter((m) => (m !== 'cam' || cam) && (m !== 'fullgrad' || model.classifier.fullGradPlan?.().kind === 'ok'));
}

function fillMethods(): void {
  const layer = $<HTMLSelectElement>('layer').value;
  const select = $<HTMLSelectElement>('method');
  const keep = select.value;
  select.textContent = '';
  const names = methodsFor(layer);
  for (const m of names) option(select, m);
  select.value = names.includes(keep) ? keep : names.includes('gradcam') ? 'gradcam' : names[0];
  const box = $('compare-methods');
  box.querySelectorAll('label').forEach((l) => l.remove());
  for (const m of names) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = m;
    input.checked = ['gradcam', 'gradcam++', 'scorecam'].includes(m);
    label.append(input, ` ${m}`);
    box.append(label);
  }
}

function compute(methods: string[], classIndex: number): ShownMap[] {
  const layer = $<HTMLSelectElement>('layer').value;
  const r = tfc.explainTensor(model, current!.input.x, { methods, layers: [layer], classes: [classIndex], topK: 1 });
  page.computations++;
  return r.maps.map((m) => ({ method: m.method, layer, classIndex, label: model.labels[classIndex], map: m.map, raw: m.raw, flat: m.flat }));
}

function draw(canvas: HTMLCanvasElement, shown: ShownMap): void {
  tfc.renderOverlay(current!.image, shown.map, {
    canvas,
    placement: current!.input.placement as Placement,
    alpha: Number($<HTMLInputElement>('alpha').value),
    colormap: $<HTMLSelectElement>('colormap').value as ColormapName,
  });
}

function redraw(): void {
  $('alpha-value').textContent = Number($<HTMLInputElement>('alpha').value).toFixed(2);
  if (!current) return;
  if (page.shown) draw($<HTMLCanvasElement>('overlay'), page.shown);
  page.compared.forEach((m, i) => draw(document.querySelector<HTMLCanvasElement>(`#sheet canvas[data-index="${i}"]`)!, m));
}

/** Runs a step that may fail on this image or these settings: the message says why, the page stays usable. */
async function guarded(what: string, step: () => Promise<void> | void): Promise<void> {
  setState('busy');
  say(`${what}…`);
  await nextFrame();
  try {
    await step();
    say('');
  } catch (e) {
    say((e as Error)?.message?.split('\n')[0] ?? String(e), 'error');
  } finally {
    setState('ready');
  }
}

async function showClass(classIndex: number): Promise<void> {
  if (!current) return;
  selectedClass = classIndex;
  document.querySelectorAll('#classes button').forEach((b) => b.setAttribute('aria-pressed', String(Number((b as HTMLElement).dataset.class) === classIndex)));
  await guarded(`computing ${$<HTMLSelectElement>('method').value} for ${model.labels[classIndex]}`, () => {
    page.shown = compute([$<HTMLSelectElement>('method').value], classIndex)[0];
    $('caption').textContent = `${page.shown.method} · ${page.shown.label} · ${page.shown.layer}${page.shown.flat ? ' (flat map: no information)' : ''}`;
    draw($<HTMLCanvasElement>('overlay'), page.shown);
    $<HTMLButtonElement>('download').disabled = false;
  });
}

async function openImage(name: string, blob: Blob): Promise<void> {
  await guarded(`reading ${name}`, async () => {
    const image = await tfc.readImage(blob, name);
    const input = await tfc.imageToInput(model, image);
    current?.input.x.dispose();
    current = { name, image, input };
    page.image = name;
    page.shown = null;
    page.compared = [];
    $('sheet').textContent = '';
    page.top = tfc.predict(model, input.x, Math.min(configTopK, model.classifier.numClasses));
    const list = $('classes');
    list.textContent = '';
    for (const p of page.top) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.dataset.class = String(p.index);
      b.textContent = `${p.label} `;
      const pct = document.createElement('span');
      pct.textContent = `${(p.probability * 100).toFixed(1)}%`;
      b.append(pct);
      b.addEventListener('click', () => void showClass(p.index));
      li.append(b);
      list.append(li);
    }
  });
  if (current?.name === name && page.top.length) await showClass(page.top[0].index);
}

async function compare(): Promise<void> {
  if (!current || selectedClass == null) return;
  const methods = [...document.querySelectorAll<HTMLInputElement>('#compare-methods input:checked')].map((i) => i.value);
  if (!methods.length) return say('tick at least one method to compare', 'error');
  const classIndex = selectedClass;
  await guarded(`comparing ${methods.join(', ')}`, () => {
    page.compared = compute(methods, classIndex);
    const sheet = $('sheet');
    sheet.textContent = '';
    page.compared.forEach((m, i) => {
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.dataset.index = String(i);
      canvas.dataset.method = m.method;
      const cap = document.createElement('figcaption');
      cap.textContent = `${m.method}${m.flat ? ' (flat)' : ''}`;
      fig.append(canvas, cap);
      sheet.append(fig);
      draw(canvas, m);
    });
  });
}

function download(): void {
  if (!current || !page.shown) return;
  const s = page.shown;
  const stem = current.name.replace(/\.[^.]*$/, '') || 'image';

  $<HTMLCanvasElement>('overlay').toBlob((blob) => {
    if (!blob) return say('the overlay could not be encoded as PNG', 'error');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    // Named as explain names its overlay of the same image, method and class.
    a.download = `${stem}.${tfc.methodSlug(s.method)}.${s.classIndex}-${tfc.slug(s.label)}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}

let configTopK = 5;

async function start(): Promise<void> {
  setState('loading');
  const config = (await (await fetch('config.json')).json()) as Config;
  configTopK = config.topK;
  const wanted = new URLSearchParams(location.search).get('backend');
  say('starting TensorFlow.js…');
  // The .wasm files are found beside the bundle, as on any page that serves dist/browser.
  page.backend = await tfc.initBackend({ prefer: wanted ? (wanted as tfc.BrowserBackend) : undefined });
  $('backend').textContent = page.backend;
  say('loading the model…');
  // The model resolution the CLI's explain uses (src/model/resolve.ts), with serve's flags as its options.
  model = await tfc.loadModel(config.model, {
    labels: config.labels ?? undefined,
    preprocess: config.preprocess,
    interpolation: config.interpolation,
    alignCorners: config.alignCorners,
    layers: config.layer ? [config.layer] : undefined,
    method: config.method ?? undefined,
  });
  page.model = model.url;
  const [h, w, c] = model.classifier.inputShape;
  $('model').textContent = `${config.name} · ${h}x${w}x${c} · ${model.classifier.numClasses} classes`;
  const layerSelect = $<HTMLSelectElement>('layer');
  for (const l of model.targetLayers) option(layerSelect, l.name, `${l.name} [${l.outputShape.join('x')}]`);
  layerSelect.value = model.defaultLayer;
  fillMethods();
  if (methodsFor(model.defaultLayer).includes(model.methods[0])) $<HTMLSelectElement>('method').value = model.methods[0];
  for (const name of tfc.COLORMAPS) option($<HTMLSelectElement>('colormap'), name);
  for (const img of config.images) {
    const b = document.createElement('button');
    b.textContent = img.name;
    b.addEventListener('click', async () => {
      const res = await fetch(img.url);
      await openImage(img.name, await res.blob());
    });
    $('gallery').append(b);
  }
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void openImage(f.name, f);
  });
  const drop = $('drop');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', () => drop.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void openImage(f.name, f);
  });
  $('method').addEventListener('change', () => selectedClass != null && void showClass(selectedClass));
  layerSelect.addEventListener('change', () => {
    fillMethods();
    if (selectedClass != null) void showClass(selectedClass);
  });
  $('alpha').addEventListener('input', redraw);
  $('colormap').addEventListener('change', redraw);
  $('download').addEventListener('click', download);
  $('compare').addEventListener('click', () => void compare());
  setState('ready');
  say('pick or drop an image');
}

start().catch((e) => {
  say(`cannot start: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`, 'error');
  setState('error');
});
