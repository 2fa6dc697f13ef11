/**
 * What a model folder says about itself besides model.json, so that common exports need no flags:
 * Teachable Machine's metadata.json (labels, and TM's own preprocessing), or a labels file beside the model.
 * Only local folders are read here; nothing is fetched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Preprocessing, readLabels, readSmallFile } from './config';
import { UsageError } from '../util/errors';

export interface ModelMetadata {
  /** Labels found beside the model, and the file they came from. */
  labels?: { labels: string[]; file: string; what: string };
  /** Preprocessing the exporter's own runtime applies (under flags and sidecar). */
  preprocess?: { values: Partial<Preprocessing>; what: string };
}

const MAX_METADATA_BYTES = 1024 * 1024;
/** Labels files that exporters and model zoos put beside model.json, in the order they are tried. */
const LABEL_FILES = ['labels.json', 'labels.txt', 'class_names.txt', 'classes.txt'];

/**
 * Teachable Machine (image projects) writes metadata.json with `labels`, `imageSize` and its package name. Its
 * runtime (@teachablemachine/image) crops the centre square, resizes it to imageSize and scales pixels to [-1, 1].
 */
export function teachableMachine(json: unknown): { labels: string[]; preprocess: Partial<Preprocessing> } | null {
  if (json == null || typeof json !== 'object' || Array.isArray(json)) return null;
  const m = json as Record<string, unknown>;
  const isTm = typeof m.tmVersion === 'string' || (typeof m.packageName === 'string' && m.packageName.startsWith('@teachablemachine/'));
  if (!isTm || !Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string')) return null;
  // Pose and audio projects have other inputs; their models fail the image checks later with their own message.
  return { labels: m.labels as string[], preprocess: { scale: [-1, 1], resize: 'crop' } };
}

export function readModelMetadata(modelDir: string): ModelMetadata {
  const out: ModelMetadata = {};
  const metaFile = path.join(modelDir, 'metadata.json');
  if (fs.existsSync(metaFile)) {
    let json: unknown = null;
    try {
      json = JSON.parse(readSmallFile(metaFile, MAX_METADATA_BYTES, 'metadata.json'));
    } catch (e) {
      // A metadata.json we cannot read is not ours to judge: it only offers defaults.
      if (e instanceof UsageError) throw e;
      json = null;
    }
    const tm = teachableMachine(json);
    if (tm) {
      out.labels = { labels: tm.labels, file: metaFile, what: 'Teachable Machine metadata.json' };
      out.preprocess = { values: tm.preprocess, what: 'Teachable Machine metadata.json' };
      return out;
    }
  }
  for (const name of LABEL_FILES) {
    const file = path.join(modelDir, name);
    if (!fs.existsSync(file)) continue;
    try {
      out.labels = { labels: readLabels(file), file, what: name };
    } catch {
      continue;
    }
    break;
  }
  return out;
}
