/**
 * The core: everything that is pure TensorFlow.js and arithmetic, importing no Node module (test/browser/
 * core-imports.test.ts walks its imports to keep it so). Model wrapping, gradient capture, the methods, map
 * normalisation and resampling, colour maps, preprocessing, and the model resolution (the sidecar's, Teachable
 * Machine's and labels files' rules, over a file reader: on disk in Node, over HTTP in the browser). The Node
 * adapters (files, sharp, worker threads: src/index.ts) and the browser adapters (fetch, canvas: src/browser/) sit
 * around it.
 */
export { explainTensor as explainTensorWith, topIndices, classChunkSize, INPUT_LAYER } from './pipeline/explain-tensor';
export type { TensorExplanation, ClassMap, RawMap, ExplainTensorOptions } from './pipeline/explain-tensor';
export { toInputResolution, peakOf, topMassShare } from './pipeline/maps';
export { buildClassifier } from './model/build';
export type { Classifier, LayerInfo, CamHead, ForwardPass } from './model/classifier';
export { probabilitiesOfArray } from './model/head';
export { parseModelJson, detectFormat, insideUrlFolder, toArtifacts } from './model/manifest';
export { preprocessPixels, toInputTensor } from './model/preprocess';
export { validateSidecar, parseSidecar, parseLabels, resolvePreprocessing, DEFAULT_PREPROCESSING, SIDECAR_NAME } from './model/sidecar';
export type { Preprocessing, PreprocessingSources, Sidecar } from './model/sidecar';
export { readSidecar, readModelFolder, resolveModel, resolveLabels, resolveLayers, resolveResampling, checkInput, methodsFor, camPossibleAt, teachableMachine, LABEL_FILES, METADATA_NAME } from './model/resolve';
export type { ModelFileReader, ModelFolder, ModelRequest, ModelSetting, FoundLabels } from './model/resolve';
export { httpModelFiles } from './model/http-files';
export { getMethod, parseMethods, METHOD_NAMES } from './methods';
export type { CamMethod, MethodInputs, MethodOptions } from './methods';
export { classGradients } from './capture/gradients';
export { inputGradients } from './capture/input-gradients';
export { parseTarget, targetSpec, targetLabel } from './capture/targets';
export type { Target, TargetLike, SimilarityTarget, SegmentTarget } from './capture/targets';
export { factorizeConcepts } from './concepts/factorize';
export type { ConceptOptions, ConceptResult, ConceptClass } from './concepts/factorize';
export { nmf } from './concepts/nmf';
export type { NmfOptions, NmfResult } from './concepts/nmf';
export { fitToInput, tfBilinearBytes, tfNearestBytes, areaBytes, luminance, toGray, INTERPOLATIONS } from './image/fit';
export { pilBicubicBytes, pilNearestBytes } from './image/pil-resample';
export type { Interpolation, RgbImage } from './image/fit';
export { placement, RESIZE_MODES } from './image/geometry';
export type { Placement } from './image/geometry';
export { normalizeMap, resizeMap, mapToImage, overlay, overlayMap } from './render/pixels';
export { applyColormap, colormapLut, COLORMAPS, divergingLut, DIVERGING_COLORMAPS } from './render/colormap';
export type { ColormapName, DivergingName } from './render/colormap';
export { heatmapLegend, signedLegend, gradientLegend, legendSvg, legendBar, legendStrip, formatClip } from './render/legend';
export type { Legend } from './render/legend';
export { signedUnitMap, signedClip, signedToUnit, channelSum, DEFAULT_OUTLIER_PERCENT } from './render/signed';
export { drawingOf, RENDER_MODES, GRADIENT_METHODS } from './render/drawing';
export type { Drawing, RenderMode } from './render/drawing';
export { ModelError, UsageError, UserError } from './util/errors';
export { slug, methodSlug } from './util/names';
