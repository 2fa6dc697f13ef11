/**
 * tfjs-cam's library API. The CLI is a thin layer over exactly these functions.
 *
 *   import { explain, loadModel } from 'tfjs-cam';
 */
export { explain } from './pipeline/explain';
export type { ExplainOptions, ExplainResult, ImageMaps } from './pipeline/explain';
export { explainTensor } from './pipeline/explain-tensor';
export type { TensorExplanation, ClassMap, ExplainTensorOptions } from './pipeline/explain-tensor';
export { evaluate } from './pipeline/evaluate';
export type { EvaluateOptions, EvaluateReport, MethodScores, ImageRow, ImageMethodRow } from './pipeline/evaluate';
export { inspect } from './pipeline/inspect';
export type { Inspection } from './pipeline/inspect';
export { openSession } from './pipeline/session';
export type { Session, SessionOptions } from './pipeline/session';
export { loadModel } from './pipeline/load-model';
export type { LoadModelOptions } from './pipeline/load-model';
export type { LoadedModel } from './model/load';
export type { Classifier, LayerInfo, CamHead, ForwardPass } from './model/classifier';
export type { HeadInfo, HeadKind } from './model/head';
export { initBackend } from './backend';
export type { BackendChoice, BackendName } from './backend';
export { getMethod, METHOD_NAMES } from './methods';
export type { CamMethod, MethodInputs, MethodOptions } from './methods';
export { classGradients } from './capture/gradients';
export { parseTarget, targetSpec, targetLabel } from './capture/targets';
export type { Target, TargetLike } from './capture/targets';
export { inputGradients } from './capture/input-gradients';
export { REPORT_SCHEMA } from './report/schema';
export type { ExplainReport, ReportImage, ReportMap } from './report/schema';
export { parseShard, shardOf } from './batch/shard';
export type { Shard } from './batch/shard';
export { mergeShards, mergeReports } from './report/merge';
export type { MergeOptions, MergeResult, ShardRun } from './report/merge';
export { TOOL_VERSION } from './version';
export { check, CHECK_REPORT_SCHEMA } from './check/run';
export type { CheckOptions, CheckReport, CheckResult, CheckFailure, CheckStatus } from './check/run';
export { loadCheckSpec, parseCheckSpec, SpecError } from './check/spec';
export type { CheckSpec, CheckCase, Expectations, RegionSpec, SpecIssue } from './check/spec';
export { toJUnit } from './check/junit';
export { renderHtmlReport, writeHtmlReport } from './report/html';
export type { HtmlReport, HtmlRow, HtmlImage, HtmlStatus, WriteHtmlOptions } from './report/html';
export { heatmapLegend, signedLegend, gradientLegend, legendSvg, legendBar } from './render/legend';
export type { Legend } from './render/legend';
export { diff } from './pipeline/diff';
export type { DiffOptions } from './pipeline/diff';
export { DIFF_REPORT_SCHEMA } from './diff/report';
export type { DiffReport, DiffImage, DiffComparison, DiffThresholds, DiffFailure } from './diff/report';
export { pearson, topRegionIou, peakShift } from './diff/compare';
