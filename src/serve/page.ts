/**
 * The explorer page's HTML: the markup that src/browser/explorer/main.ts fills in, the import map that resolves
 * the bundle's peer imports to files this server serves, and a Content-Security-Policy that lets the page load
 * nothing from anywhere but this server.
 */
import { createHash } from 'crypto';

export const IMPORT_MAP = JSON.stringify({
  imports: {
    '@tensorflow/tfjs': './app/vendor/tfjs.mjs',
    // The WASM backend imports tfjs-core: the same module instance as tfjs's, which re-exports all of core.
    '@tensorflow/tfjs-core': './app/vendor/tfjs.mjs',
    '@tensorflow/tfjs-backend-wasm': './app/vendor/tfjs-backend-wasm.mjs',
  },
});

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64');

/** The policy sent with the page: scripts, data and images from this origin only (blob: for the download). */
export function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'sha256-${sha256(IMPORT_MAP)}' 'wasm-unsafe-eval'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "connect-src 'self' blob: data:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const STYLE = `
  :root { color-scheme: light; font: 14px/1.4 system-ui, sans-serif; }
  body { margin: 0; background: #f6f7f9; color: #1d232b; }
  header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1em; background: #1d232b; color: #fff; }
  header h1 { font-size: 1.2em; margin: 0; }
  .badge { background: #3b82f6; border-radius: 1em; padding: 0 .7em; font-size: .85em; }
  .badge:empty { display: none; }
  main { display: grid; grid-template-columns: 18em minmax(0, 1fr); gap: 1em; padding: 1em; }
  aside, section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: .8em; }
  section + section { margin-top: 1em; }
  .drop { display: block; border: 2px dashed #9aa4b1; border-radius: 6px; padding: 1em; text-align: center; }
  .drop.over { border-color: #3b82f6; background: #eef4ff; }
  #gallery { max-height: 30vh; overflow-y: auto; }
  #gallery button, #classes button { display: block; width: 100%; text-align: left; margin: .2em 0; }
  #gallery button[aria-pressed="true"], #classes button[aria-pressed="true"] { background: #3b82f6; color: #fff; }
  .hint { font-size: .85em; color: #6b7280; margin: .2em 0; }
  #classes { padding-left: 1.4em; margin: 0; }
  #classes span { float: right; opacity: .8; }
  label { display: block; margin: .4em 0; }
  select, input[type=range], input[type=search] { width: 100%; box-sizing: border-box; }
  canvas { max-width: 100%; image-rendering: auto; }
  /* The overlay as large as the window allows, never cropped or stretched. */
  #overlay { display: block; width: 100%; height: auto; max-height: calc(100vh - 11em); object-fit: contain; object-position: left top; }
  #result { display: grid; grid-template-columns: minmax(12em, 18em) minmax(0, 1fr); gap: 1em; align-items: start; }
  #result figure { margin: 0; min-width: 0; }
  #message:empty { display: none; }
  #message.error { color: #b91c1c; font-weight: 600; }
  #progress-box { display: flex; gap: .6em; align-items: center; margin: 0 0 .6em; }
  #progress-box[hidden] { display: none; }
  #progress { flex: 0 0 14em; }
  #progress-text { flex: 1; font-size: .9em; color: #374151; }
  #sheet { display: flex; flex-wrap: wrap; gap: .6em; }
  #sheet figure { margin: 0; width: 200px; }
  #sheet canvas { width: 100%; }
  #sheet figcaption, #caption { font-size: .9em; color: #4b5563; }
  #estimate { font-size: .9em; color: #92400e; }
  .legend svg { display: block; max-width: 100%; height: auto; }
  fieldset { border: 1px solid #dde1e6; border-radius: 6px; }
  fieldset label { display: inline-block; margin-right: .8em; }
`;

export function explorerHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfjs-cam explorer</title>
<style>${STYLE}</style>
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="./app/explorer.mjs"></script>
</head>
<body data-state="loading">
<header><h1>tfjs-cam</h1><span id="model"></span><span id="backend" class="badge" title="TensorFlow.js backend"></span></header>
<main>
  <aside>
    <label id="drop" class="drop">Drop an image here, or pick one<br><input type="file" id="file" accept="image/*"></label>
    <div id="gallery"></div>
    <p class="hint">← → move between the images</p>
    <label>Method <select id="method"></select></label>
    <label>Target layer <input type="search" id="layer-filter" placeholder="type to filter the layers" aria-label="filter the target layers"><select id="layer"></select></label>
    <label>Colour map <select id="colormap"></select></label>
    <label>Signed colour map <select id="signed-colormap" title="saliency, SmoothGrad, Integrated Gradients: signed attributions, white at zero"></select></label>
    <label>Opacity <output id="alpha-value">0.50</output><input type="range" id="alpha" min="0" max="1" step="0.05" value="0.5"></label>
    <button id="download" disabled>Download overlay PNG</button>
  </aside>
  <div>
    <div id="progress-box" hidden><progress id="progress" max="1"></progress><span id="progress-text"></span><button id="cancel" disabled>Cancel</button></div>
    <p id="message" role="status">loading…</p>
    <section id="result">
      <ol id="classes"></ol>
      <figure><canvas id="overlay" width="0" height="0"></canvas><figcaption id="caption"></figcaption><div id="legend" class="legend" aria-label="colour scale"></div></figure>
    </section>
    <section>
      <fieldset id="compare-methods"><legend>Compare methods for the selected class</legend></fieldset>
      <p id="estimate"></p>
      <button id="compare">Compare</button>
      <div id="sheet"></div>
    </section>
  </div>
</main>
</body>
</html>
`;
}
