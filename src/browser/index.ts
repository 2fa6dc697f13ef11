/**
 * tfjs-cam in the browser (the bundle dist/browser/tfjs-cam.mjs, `tfjs-cam/browser`): the Node-free core
 * (src/core.ts) plus the browser's own adapters for loading (fetch), images (canvas) and the backend.
 * `@tensorflow/tfjs` is a peer import; `@tensorflow/tfjs-backend-wasm` is imported only when WASM is used.
 *
 *   import { initBackend, loadModel, readImage, imageToInput, explainTensor, renderOverlay } from 'tfjs-cam/browser';
 */
export * from '../core';
export { initBackend, BROWSER_BACKENDS } from './backend';
export type { BrowserBackend, BackendOptions } from './backend';
export { loadModel } from './load';
export type { BrowserModel, LoadOptions } from './load';
export { readImage, imageToInput, flattenRgba } from './image';
export type { ImageInput, ModelInput } from './image';
export { explainTensor, predict, BROWSER_METHODS } from './explain';
export type { BrowserExplainOptions, Prediction } from './explain';
export { renderOverlay, overlayPixels } from './render';
export type { OverlayOptions } from './render';
