/**
 * The explorer page served by `tfjs-cam serve` (its HTML is src/serve/page.ts). The model, the images' decoding and
 * every map are computed in a Web Worker (worker.ts, driven through client.ts) with the library's own code; this
 * thread only draws, so the page answers while a method runs, with a progress bar and a cancel button. The first
 * image opens at start; click a class to see its map, switch method and layer, move the opacity, compare methods
 * side by side, download the overlay as PNG; the arrow keys move between the images. Every map is shown with its
 * colour scale: per-map normalised heatmaps, and the signed attributions on the CLI's diverging map.
 *
 * For tests and scripts the page keeps its state on `window.tfjsCam` and in `document.body.dataset.state`
 * ('loading', 'ready', 'busy', 'error': the model could not be used).
 */
import { overlayMap } from '../../render/pixels';
import { opaqueRgba } from '../render';
import { colormapLut, divergingLut, COLORMAPS, DIVERGING_COLORMAPS, type ColormapName, type DivergingName } from '../../render/colormap';
import { heatmapLegend, legendSvg, signedLegend } from '../../render/legend';
import { methodSlug, slug } from '../../util/names';
import type { Placement } from '../../image/geometry';
import type { Preprocessing } from '../../model/sidecar';
import type { Interpolation } from '../../image/fit';
import type { ImageSource, ModelInfo, WorkerMap, WorkerPrediction } from './protocol';
import { Dropped, ExplorerWorker, type Progress } from './client';
import { BOUNDED_ESTIMATES, estimateLeft, formatDuration, passesOf, SLOW_METHODS } from './estimate';

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
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
}

type ShownMap = WorkerMap;

interface PageState {
  state: 'loading' | 'ready' | 'busy' | 'error';
  backend: string | null;
  model: string | null;
  image: string | null;
  top: WorkerPrediction[];
  shown: ShownMap | null;
  compared: ShownMap[];
  message: string;
  /** How many times maps were computed (moving the slider recomputes nothing). */
  computations: number;
  /** Progress of the job running: what the progress bar shows, and the estimate it started with. */
  progress: { fraction: number; text: string; estimate: string | null } | null;
  /** Jobs cancelled with the cancel button. */
  cancelled: number;
  /** How many times the worker was started (1 + cancels + slow jobs overtaken). */
  workerStarts: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const page: PageState = { state: 'loading', backend: null, model: null, image: null, top: [], shown: null, compared: [], message: '', computations: 0, progress: null, cancelled: 0, workerStarts: 0 };
let client: ExplorerWorker;
let info: ModelInfo;
let config: Config;
/** The image on show: its pixels (for drawing), where it lies in the model's input, and how to open it again. */
let current: { name: string; source: ImageSource; image: { data: Uint8Array; width: number; height: number }; placement: Placement; forwardMs: number; gallery: number | null } | null = null;
let selectedClass: number | null = null;
let fileCount = 0;

(window as unknown as { tfjsCam: unknown }).tfjsCam = {
  page,
  /** The map on show as plain numbers, for tests: `{ ..., map: number[] }`. */
  shownMap: () =>
    page.shown
      ? { ...page.shown, map: Array.from(page.shown.map), raw: page.shown.raw.map((r) => ({ ...r, data: Array.from(r.data) })), signed: page.shown.signed ? { clip: page.shown.signed.clip, unit: Array.from(page.shown.signed.unit) } : undefined }
      : null,
  /** tf.memory().numTensors in the worker (after the jobs before this call). */
  numTensors: () => client.numTensors(),
};

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

function option(parent: HTMLElement, value: string, text = value): void {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  parent.append(o);
}

// A layer the sidecar or --layer names may not be among the spatial ones listed: shown without a shape.
const layerInfo = (name: string): ModelInfo['layers'][number] => info.layers.find((l) => l.name === name) ?? { name, outputShape: [] };
const channelsAt = (layer: string) => layerInfo(layer).outputShape.at(-1) ?? 1;
const selectedLayer = () => $<HTMLSelectElement>('layer').value || info.defaultLayer;

function methodsFor(layer: string): string[] {
  const cam = info.camLayers.includes(layer);
  return info.browserMethods.filter((m) => (m !== 'cam' || cam) && (m !== 'fullgrad' || info.fullGrad));
}

/** "up to 12 s (scorecam: 97 passes, at 120 ms a pass)" for the slow methods among `methods`, null when there are none or no image. */
function estimate(methods: string[]): string | null {
  const slow = methods.filter((m) => SLOW_METHODS.includes(m));
  if (!slow.length || !current) return null;
  const layer = selectedLayer();
  const passes = slow.map((m) => ({ m, n: passesOf(m, channelsAt(layer), info.methodOptions) }));
  const ms = passes.reduce((s, p) => s + p.n, 0) * current.forwardMs;
  const bound = slow.some((m) => BOUNDED_ESTIMATES.includes(m));
  return `${bound ? 'up to' : 'about'} ${formatDuration(ms)} (${passes.map((p) => `${p.m}: ${p.n} passes`).join(', ')}, at ${current.forwardMs.toFixed(1)} ms a pass)`;
}

function tickedMethods(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>('#compare-methods input:checked')].map((i) => i.value);
}

function showEstimate(): void {
  const e = estimate(tickedMethods());
  $('estimate').textContent = e ? `Slow methods ticked: ${e}.` : '';
}

function fillMethods(): void {
  const layer = selectedLayer();
  const select = $<HTMLSelectElement>('method');
  const keep = select.value;
  select.textContent = '';
  const names = methodsFor(layer);
  for (const m of names) option(select, m, SLOW_METHODS.includes(m) ? `${m} (slow)` : m);
  select.value = names.includes(keep) ? keep : names.includes('gradcam') ? 'gradcam' : names[0];
  const box = $('compare-methods');
  const ticked = new Set(box.querySelectorAll('input').length ? tickedMethods() : ['gradcam', 'gradcam++', 'layercam']);
  box.querySelectorAll('label').forEach((l) => l.remove());
  for (const m of names) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = m;
    // The fast methods start ticked; a slow one only when the user ticks it (its estimate then on show).
    input.checked = ticked.has(m);
    label.append(input, ` ${m}${SLOW_METHODS.includes(m) ? ' (slow)' : ''}`);
    if (SLOW_METHODS.includes(m)) label.title = 'slow: many passes through the model (an estimate shows when ticked)';
    box.append(label);
  }
  showEstimate();
}

/**
 * The target layer picker: the default layer first, then the others in the model's order, narrowed to the names
 * containing what is typed in the filter box.
 */
function fillLayers(): void {
  const select = $<HTMLSelectElement>('layer');
  const keep = select.value || info.defaultLayer;
  const typed = $<HTMLInputElement>('layer-filter').value.trim().toLowerCase();
  select.textContent = '';
  const text = (l: ModelInfo['layers'][number]) => (l.outputShape.length ? `${l.name} [${l.outputShape.join('x')}]` : l.name);
  const def = document.createElement('optgroup');
  def.label = 'default';
  option(def, info.defaultLayer, text(layerInfo(info.defaultLayer)));
  select.append(def);
  const others = info.layers.filter((l) => l.name !== info.defaultLayer && (!typed || l.name.toLowerCase().includes(typed)));
  const group = document.createElement('optgroup');
  group.label = typed ? `matching '${typed}' (${others.length})` : `all (${others.length + 1})`;
  for (const l of others) option(group, l.name, text(l));
  select.append(group);
  // The layer in use stays chosen (and listed) while the filter hides it from the others.
  if (keep !== info.defaultLayer && !others.some((l) => l.name === keep)) option(group, keep, text(layerInfo(keep)));
  select.value = keep;
}

function overlayRgba(m: ShownMap): Uint8ClampedArray<ArrayBuffer> {
  const img = current!.image;
  const p = current!.placement;
  const alpha = Number($<HTMLInputElement>('alpha').value);
  // As explain draws them: a signed attribution on the diverging map, white at zero and outside the model's view;
  // every other map normalised on its own on the sequential colour map.
  const rgb = m.signed
    ? overlayMap(img, m.signed.unit, p.dstWidth, p.dstHeight, p, divergingLut($<HTMLSelectElement>('signed-colormap').value as DivergingName), alpha, false, 0.5).overlay
    : overlayMap(img, m.map, p.dstWidth, p.dstHeight, p, colormapLut($<HTMLSelectElement>('colormap').value as ColormapName), alpha).overlay;
  return opaqueRgba(rgb);
}

function legendOf(m: ShownMap, width: number, fontSize: number): string {
  const legend = m.signed ? signedLegend($<HTMLSelectElement>('signed-colormap').value as DivergingName, { clip: m.signed.clip }) : heatmapLegend($<HTMLSelectElement>('colormap').value as ColormapName);
  return legendSvg(legend, { width, fontSize });
}

function draw(canvas: HTMLCanvasElement, legend: HTMLElement, m: ShownMap, legendWidth: number, fontSize: number): void {
  const { width, height } = current!.image;
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d')!.putImageData(new ImageData(overlayRgba(m), width, height), 0, 0);
  legend.innerHTML = legendOf(m, legendWidth, fontSize);
}

function drawShown(): void {
  if (!page.shown) return;
  const canvas = $<HTMLCanvasElement>('overlay');
  // The scale as wide as the overlay on show (its caption must fit), within reason.
  draw(canvas, $('legend'), page.shown, Math.round(Math.max(360, Math.min(720, canvas.clientWidth || 420))), 12);
}

function drawSheet(): void {
  const sheet = $('sheet');
  sheet.textContent = '';
  page.compared.forEach((m, i) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.dataset.index = String(i);
    canvas.dataset.method = m.method;
    const legend = document.createElement('div');
    legend.className = 'legend';
    const cap = document.createElement('figcaption');
    cap.textContent = `${m.method}${m.flat ? ' (flat)' : ''}`;
    fig.append(canvas, cap, legend);
    sheet.append(fig);
    draw(canvas, legend, m, 200, 9);
  });
}

function redraw(): void {
  $('alpha-value').textContent = Number($<HTMLInputElement>('alpha').value).toFixed(2);
  if (!current) return;
  drawShown();
  drawSheet();
}

/** When the method on show in the progress bar started (its first report), for the time left. */
let methodStart = { index: -1, at: 0 };

function showProgress(p: Progress, estimateText: string | null): void {
  const fraction = (p.index + (p.total > 0 ? p.done / p.total : 0)) / p.count;
  if (p.index !== methodStart.index || (p.done === 0 && p.total === 1)) methodStart = { index: p.index, at: performance.now() };
  const step = p.total > 1 ? ` ${p.done}/${p.total}` : '';
  const left = p.total > 1 ? estimateLeft(performance.now() - methodStart.at, p.done, p.total) : null;
  const text = `${p.method}${p.count > 1 ? ` (${p.index + 1} of ${p.count})` : ''}${step}${left != null ? ` · ${formatDuration(left)} left` : ''}${estimateText ? ` · ${estimateText}` : ''}`;
  page.progress = { fraction, text, estimate: estimateText };
  $<HTMLProgressElement>('progress').value = fraction;
  $('progress-text').textContent = text;
}

function startProgress(text: string): void {
  page.progress = { fraction: 0, text, estimate: null };
  $<HTMLProgressElement>('progress').removeAttribute('value'); // indeterminate until the worker reports
  $('progress-text').textContent = text;
}

/** A request's failure: nothing when it was overtaken, a note when cancelled, else the reason on one line. */
function failed(e: unknown): void {
  if (e instanceof Dropped) {
    if (e.why === 'cancelled') say('cancelled: the map on show is unchanged');
    return;
  }
  say((e as Error)?.message?.split('\n')[0] ?? String(e), 'error');
}

async function showClass(classIndex: number): Promise<void> {
  if (!current) return;
  selectedClass = classIndex;
  document.querySelectorAll('#classes button').forEach((b) => b.setAttribute('aria-pressed', String(Number((b as HTMLElement).dataset.class) === classIndex)));
  const method = $<HTMLSelectElement>('method').value;
  const layer = selectedLayer();
  const est = estimate([method]);
  startProgress(`${method} for ${info.labels[classIndex]}${est ? ` · ${est}` : ''}`);
  say('');
  try {
    const r = await client.run({ type: 'explain', image: current.source, methods: [method], layer, classIndex, batchSize: batchSize() }, { slow: SLOW_METHODS.includes(method), onProgress: (p) => showProgress(p, est) });
    page.computations++;
    page.shown = r.maps[0];
    $('caption').textContent = `${page.shown.method} · ${page.shown.label} · ${page.shown.layer}${page.shown.flat ? ' (flat map: no information)' : ''} · ${formatDuration(r.ms)}`;
    drawShown();
    $<HTMLButtonElement>('download').disabled = false;
    say('');
  } catch (e) {
    failed(e);
  }
}

async function openImage(name: string, source: string | Blob, gallery: number | null): Promise<void> {
  const image: ImageSource = { key: typeof source === 'string' ? source : `file:${++fileCount}:${name}`, name, source };
  markGallery(gallery);
  startProgress(`opening ${name}`);
  say('');
  let opened;
  try {
    opened = await client.run({ type: 'open', image, topK: config.topK });
  } catch (e) {
    // Overtaken: the newer request marks its own image. Failed or cancelled: the image on show is marked again.
    if (!(e instanceof Dropped && e.why === 'overtaken')) markGallery(current?.gallery ?? null);
    return failed(e);
  }
  current = { name, source: image, image: opened.image, placement: opened.placement, forwardMs: opened.forwardMs, gallery };
  client.held = image;
  page.image = name;
  page.shown = null;
  page.compared = [];
  page.top = opened.top;
  $('sheet').textContent = '';
  $('legend').textContent = '';
  $('caption').textContent = '';
  const ctx = $<HTMLCanvasElement>('overlay').getContext('2d')!;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  $<HTMLButtonElement>('download').disabled = true;
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
  showEstimate();
  if (page.top.length) await showClass(page.top[0].index);
}

function markGallery(index: number | null): void {
  document.querySelectorAll<HTMLButtonElement>('#gallery button').forEach((b, i) => b.setAttribute('aria-pressed', String(i === index)));
}

function openGallery(index: number): void {
  const img = config.images[index];
  if (img) void openImage(img.name, new URL(img.url, location.href).href, index);
}

async function compare(): Promise<void> {
  if (!current || selectedClass == null) return;
  const methods = tickedMethods();
  if (!methods.length) return say('tick at least one method to compare', 'error');
  const est = estimate(methods);
  startProgress(`comparing ${methods.join(', ')}${est ? ` · ${est}` : ''}`);
  say('');
  $<HTMLButtonElement>('compare').disabled = true;
  try {
    const r = await client.run(
      { type: 'explain', image: current.source, methods, layer: selectedLayer(), classIndex: selectedClass, batchSize: batchSize() },
      { slow: methods.some((m) => SLOW_METHODS.includes(m)), onProgress: (p) => showProgress(p, est) },
    );
    page.computations++;
    page.compared = r.maps;
    drawSheet();
    say('');
  } catch (e) {
    failed(e);
  } finally {
    $<HTMLButtonElement>('compare').disabled = false;
  }
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
    a.download = `${stem}.${methodSlug(s.method)}.${s.classIndex}-${slug(s.label)}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}

/** ?batch=N: channels per batch for Score-CAM and Ablation-CAM (more progress steps, for a slow machine or a test). */
function batchSize(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('batch'));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The arrow keys (left, right) move between the listed images, unless a control that uses them has the focus. */
function onKey(e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey || !config.images.length) return;
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'checkbox'))) return;
  // Left and right only: up and down still scroll the page.
  const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
  if (!step) return;
  e.preventDefault();
  const at = current?.gallery ?? -1;
  const next = Math.min(config.images.length - 1, Math.max(0, at + step));
  if (next !== at) openGallery(next);
}

function wire(): void {
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void openImage(f.name, f, null);
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
    if (f) void openImage(f.name, f, null);
  });
  $('method').addEventListener('change', () => selectedClass != null && void showClass(selectedClass));
  $('layer').addEventListener('change', () => {
    fillMethods();
    if (selectedClass != null) void showClass(selectedClass);
  });
  $('layer-filter').addEventListener('input', fillLayers);
  $('compare-methods').addEventListener('change', showEstimate);
  $('alpha').addEventListener('input', redraw);
  $('colormap').addEventListener('change', redraw);
  $('signed-colormap').addEventListener('change', redraw);
  $('download').addEventListener('click', download);
  $('compare').addEventListener('click', () => void compare());
  $('cancel').addEventListener('click', () => {
    if (!client.busy) return;
    page.cancelled++;
    client.cancel();
    page.workerStarts = client.starts;
  });
  document.addEventListener('keydown', onKey);
}

function onBusy(busy: boolean): void {
  page.workerStarts = client.starts;
  $('progress-box').hidden = !busy;
  $<HTMLButtonElement>('cancel').disabled = !busy;
  if (busy) return setState('busy');
  page.progress = null;
  // After the result is drawn (its promise settles in a microtask): 'ready' means idle and up to date.
  setTimeout(() => {
    if (!client.busy && page.state !== 'error') setState('ready');
  }, 0);
}

async function start(): Promise<void> {
  setState('loading');
  config = (await (await fetch('config.json')).json()) as Config;
  say('loading the model…');
  // Absolute URLs: the worker resolves relative ones against its own script's URL, not the page's.
  const abs = (u: string | null) => (u ? new URL(u, location.href).href : null);
  client = new ExplorerWorker(new URL('./app/explorer-worker.mjs', location.href), {
    backend: new URLSearchParams(location.search).get('backend'),
    model: abs(config.model)!,
    labels: abs(config.labels),
    preprocess: config.preprocess,
    interpolation: config.interpolation,
    alignCorners: config.alignCorners,
    layer: config.layer,
    method: config.method,
  });
  await client.loaded();
  info = client.model!;
  page.backend = client.backend;
  page.model = info.url;
  $('backend').textContent = page.backend;
  const [h, w, c] = info.inputShape;
  $('model').textContent = `${config.name} · ${h}x${w}x${c} · ${info.numClasses} classes`;
  fillLayers();
  fillMethods();
  if (methodsFor(info.defaultLayer).includes(info.methods[0])) $<HTMLSelectElement>('method').value = info.methods[0];
  for (const name of COLORMAPS) option($<HTMLSelectElement>('colormap'), name);
  for (const name of DIVERGING_COLORMAPS) option($<HTMLSelectElement>('signed-colormap'), name);
  config.images.forEach((img, i) => {
    const b = document.createElement('button');
    b.textContent = img.name;
    b.addEventListener('click', () => openGallery(i));
    $('gallery').append(b);
  });
  client.onBusy = onBusy;
  wire();
  say(config.images.length ? '' : 'pick or drop an image');
  // The first image opens at once; the page is 'ready' when its map is drawn.
  if (config.images.length) openGallery(0);
  else setState('ready');
}

start().catch((e) => {
  say(`cannot start: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`, 'error');
  setState('error');
});
