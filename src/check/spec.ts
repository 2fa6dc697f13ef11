/**
 * The `check` spec: a YAML or JSON file listing attention checks. Read with the `yaml` package (JSON is YAML 1.2,
 * so one parser gives source positions for both), validated against schema/check-spec.schema.json with ajv, then
 * resolved: paths made absolute (relative to the spec file), globs expanded, annotations and defaults merged.
 * Every problem is reported with the file, line, column and the field's path, e.g.
 *   checks.yaml:12:15: cases[0].expect.minIou: must be at most 1
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject } from 'ajv';
import { globSync, hasMagic } from 'glob';
import { Alias, Document, isMap, isPair, isScalar, LineCounter, parseDocument, visit, Node as YamlNode } from 'yaml';
import schema from '../../schema/check-spec.schema.json';
import { collectImages } from '../batch/walk';
import { IMAGE_EXTENSIONS } from '../image/decode';
import { parseMethods } from '../methods';
import { readSmallFile } from '../model/config';
import { UsageError } from '../util/errors';
import { closestNames } from '../util/suggest';

export const CHECK_SPEC_SCHEMA_ID = 'urn:tfjs-cam:check-spec:1';

/** A box in pixels of the original image (or fractions of its size, when a region says so). */
export interface SpecBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface AnnotationEntry {
  label?: string;
  class?: number;
  boxes: SpecBox[];
}

/** A region as written in the spec, paths resolved. */
export type RegionSpec =
  | { kind: 'boxes'; boxes: SpecBox[]; units: 'pixels' | 'fraction' }
  /** Mask file, possibly a template with {stem} / {name}; resolved per image into `files`. */
  | { kind: 'mask'; template: string; files: Map<string, string> }
  /** Annotations file; `entries` is keyed by absolute image path. */
  | { kind: 'annotations'; file: string; entries: Map<string, AnnotationEntry> };

export interface Expectations {
  topK?: number;
  minProbability?: number;
  region?: RegionSpec;
  pointingGame?: boolean;
  minInside?: number;
  maxInside?: number;
  maxOutside?: number;
  minIou?: number;
  /** Fraction of the map's maximum that thresholdBox uses for minIou (default 0.2). */
  boxThreshold: number;
  /** With a `diff` baseline (src/diff/check.ts): the thresholds of `tfjs-cam diff`. */
  minCorrelation?: number;
  maxPeakShift?: number;
  maxPeakShiftPx?: number;
  maxFlips?: number;
  maxProbabilityDrop?: number;
}

export interface CheckCase {
  /** 0-based position in the spec's cases. */
  index: number;
  name: string;
  /** Model folder / model.json (absolute) or URL. */
  model: string;
  method?: string;
  layers?: string[];
  class?: number | string;
  /**
   * What to explain instead of a class: a target as `--target` takes it (class:, logit-diff:, sum:), the case's
   * own or the top-level default (a case's `class` wins over the default). Resolved against the model's labels
   * when the case runs.
   */
  target?: string;
  /** Absolute image paths, in the order the patterns list them (each pattern's matches sorted), without repeats. */
  images: string[];
  expect: Expectations;
  /** A baseline to compare the case's maps with (`diff`): absolute path or URL, and its layers when named. */
  diff?: { baseline: string; layers?: string[] };
  /** "file:line:col" of the case's fields (for messages raised later, e.g. an unknown class). */
  where: { case: string; model: string; method: string; layer: string; class: string; target: string; diff: string };
}

export interface CheckSpec {
  /** Absolute path of the spec file. */
  file: string;
  dir: string;
  cases: CheckCase[];
}

export interface SpecIssue {
  file: string;
  line: number;
  col: number;
  /** Path of the field, e.g. cases[0].expect.minIou ('' for the whole document). */
  field: string;
  message: string;
}

/** A spec that cannot be used: every problem found, each with its place. Exit code 2. */
export class SpecError extends UsageError {
  constructor(readonly issues: SpecIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'SpecError';
  }
}

export function formatIssue(i: SpecIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
}

type Segment = string | number;

function fieldName(segments: readonly Segment[]): string {
  let s = '';
  for (const p of segments) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

let validator: ReturnType<Ajv['compile']> | null = null;
function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, verbose: true, strict: true, strictRequired: false });
    validator = ajv.compile(schema);
  }
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Locates fields in the parsed document. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
    readonly file: string,
  ) {}

  private pos(offset: number): { line: number; col: number } {
    const p = this.lc.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /** The value node at `segments` (or the nearest existing parent), optionally the key of one of its fields. */
  at(segments: readonly Segment[], key?: string): { line: number; col: number } {
    for (let n = segments.length; n >= 0; n--) {
      const node = (n === 0 ? this.doc.contents : this.doc.getIn(segments.slice(0, n), true)) as YamlNode | null | undefined;
      if (!node || !node.range) continue;
      if (n === segments.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
        const k = pair?.key as YamlNode | undefined;
        if (k?.range) return this.pos(k.range[0]);
      }
      return this.pos(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  issue(segments: readonly Segment[], message: string, key?: string): SpecIssue {
    const { line, col } = this.at(segments, key);
    return { file: this.file, line, col, field: fieldName(key !== undefined ? [...segments, key] : segments), message };
  }

  where(segments: readonly Segment[]): string {
    const { line, col } = this.at(segments);
    return `${this.file}:${line}:${col}: ${fieldName(segments)}`;
  }
}

const TYPE_NAMES: Record<string, string> = { string: 'a string', array: 'a list', integer: 'a whole number', number: 'a number', object: 'a mapping (key: value)', boolean: 'true or false' };

/** ajv's errors, in the spec's words: one per problem, the branches of a failed oneOf folded into one line. */
function schemaIssues(errors: ErrorObject[], loc: Locator): SpecIssue[] {
  const folded = errors.filter((e) => e.keyword === 'oneOf');
  const kept = errors.filter((e) => !folded.some((f) => f !== e && f.instancePath === e.instancePath && e.schemaPath.startsWith(f.schemaPath + '/')));
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const segments: Segment[] = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const params = e.params as Record<string, unknown>;
    let message = e.message ?? 'is not valid';
    let key: string | undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        key = String(params.additionalProperty);
        const props = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
        const near = closestNames(key, props);
        message = /^[^:]+:\S/.test(key)
          ? `unknown field: YAML needs a space after ':' ('${key.replace(':', ': ')}')`
          : `unknown field${near.length ? ` (did you mean ${near.map((n) => `'${n}'`).join(', ')}?)` : ` (known: ${props.join(', ')})`}`;
        break;
      }
      case 'required':
        message = `missing field '${String(params.missingProperty)}'`;
        break;
      case 'type': {
        const types = Array.isArray(params.type) ? (params.type as string[]) : String(params.type).split(',');
        message = `must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
        break;
      }
      case 'minLength':
        message = 'must not be empty';
        break;
      case 'minItems':
        message = `must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const words: Record<string, string> = { '>=': 'at least', '<=': 'at most', '>': 'more than', '<': 'less than' };
        message = `must be ${words[String(params.comparison)] ?? String(params.comparison)} ${String(params.limit)}`;
        break;
      }
      case 'enum':
        message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `must be ${JSON.stringify(params.allowedValue)}`;
        break;
      case 'pattern':
        message = "must be a share of the image's diagonal (0..1) or pixels as '12px'";
        break;
      case 'oneOf': {
        const branches = (e.schema as { required?: string[] }[]).map((b) => b.required?.[0]).filter(Boolean) as string[];
        message = `needs exactly one of ${branches.map((b) => `'${b}'`).join(', ')}`;
        break;
      }
    }
    const issue = loc.issue(segments, message, key);
    const id = `${issue.field}|${issue.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      issues.push(issue);
    }
  }
  return issues;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const toPosix = (p: string) => p.split(path.sep).join('/');

function readAnnotations(file: string, loc: Locator, at: Segment[], issues: SpecIssue[]): Map<string, AnnotationEntry> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    issues.push(loc.issue(at, code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(e as Error).message.split('\n')[0]}`));
    return null;
  }
  const images = (raw as { images?: unknown })?.images;
  if (!images || typeof images !== 'object' || Array.isArray(images)) {
    issues.push(loc.issue(at, `${file}: expected {"version": 1, "images": {"<file>": {"boxes": [...]}}}`));
    return null;
  }
  const out = new Map<string, AnnotationEntry>();
  const base = path.dirname(file);
  for (const [name, v] of Object.entries(images as Record<string, unknown>)) {
    const e = v as { label?: unknown; class?: unknown; boxes?: unknown };
    const boxes = Array.isArray(e?.boxes) ? e.boxes : null;
    const okBox = (b: unknown) => {
      const o = b as Record<string, unknown>;
      return !!o && ['x', 'y', 'width', 'height'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k])) && (o.width as number) > 0 && (o.height as number) > 0;
    };
    if (!boxes || !boxes.length || !boxes.every(okBox)) {
      issues.push(loc.issue(at, `${file}: image '${name}' needs "boxes": [{x, y, width, height}, ...] with positive sizes`));
      continue;
    }
    out.set(path.resolve(base, name), {
      label: typeof e.label === 'string' ? e.label : undefined,
      class: typeof e.class === 'number' && Number.isInteger(e.class) && e.class >= 0 ? e.class : undefined,
      boxes: (boxes as SpecBox[]).map((b) => ({ x: b.x, y: b.y, width: b.width, height: b.height })),
    });
  }
  return out;
}

function expandImages(patterns: string[], dir: string, loc: Locator, at: Segment[], single: boolean, issues: SpecIssue[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  patterns.forEach((p, i) => {
    const segs = single ? at : [...at, i];
    let found: string[];
    if (hasMagic(p, { windowsPathsNoEscape: false })) {
      found = globSync(p, { cwd: dir, absolute: true, nodir: true, dot: false })
        .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()))
        .sort();
      if (!found.length) issues.push(loc.issue(segs, `'${p}' matches no image (looked for ${IMAGE_EXTENSIONS.join(' ')} relative to ${dir})`));
    } else {
      const { jobs, problems } = collectImages([path.resolve(dir, p)]);
      for (const pr of problems) issues.push(loc.issue(segs, `'${p}': ${pr.message}`));
      found = jobs.map((j) => path.resolve(j.file));
    }
    for (const f of found) {
      if (!seen.has(f)) {
        seen.add(f);
        out.push(f);
      }
    }
  });
  return out;
}

function maskFileFor(template: string, image: string): string {
  const name = path.basename(image);
  const stem = name.slice(0, name.length - path.extname(name).length);
  return template.replace(/\{stem\}/g, stem).replace(/\{name\}/g, name);
}

interface RawExpect {
  topK?: number;
  minProbability?: number;
  region?: { boxes?: SpecBox[]; units?: 'pixels' | 'fraction'; mask?: string; annotations?: string };
  pointingGame?: boolean;
  minInside?: number;
  maxInside?: number;
  maxOutside?: number;
  minIou?: number;
  boxThreshold?: number;
  minCorrelation?: number;
  maxPeakShift?: number | string;
  maxFlips?: number;
  maxProbabilityDrop?: number;
}
interface RawDiff {
  baseline: string;
  layer?: string | string[];
}
interface RawCase {
  name?: string;
  images: string | string[];
  model?: string;
  method?: string;
  layer?: string | string[];
  class?: number | string;
  target?: string;
  expect?: RawExpect;
  diff?: RawDiff;
}
interface RawSpec {
  model?: string;
  method?: string;
  layer?: string | string[];
  target?: string;
  expect?: RawExpect;
  diff?: RawDiff;
  cases: RawCase[];
}

const REGION_CHECKS = ['pointingGame', 'minInside', 'maxInside', 'maxOutside', 'minIou'] as const;
const DIFF_CHECKS = ['minCorrelation', 'maxPeakShift', 'maxFlips', 'maxProbabilityDrop'] as const;

/** Parses, validates and resolves a spec given as text (`file` names it in messages and anchors relative paths). */
/**
 * The document as plain data. Whatever the YAML library refuses here is a spec error too (exit 2, never "unexpected"):
 * above all aliases that expand past 100 copies (a "billion laughs" alias bomb), named at the alias where the
 * expansion went over.
 */
function specData(doc: Document, lc: LineCounter, shown: string): unknown {
  // The alias being resolved when the library gives up: resolution goes through each alias's own resolve().
  let blamed: Alias | null = null;
  visit(doc, {
    Alias(_key, node) {
      const resolve = node.resolve.bind(node);
      node.resolve = (...args: Parameters<Alias['resolve']>) => {
        try {
          return resolve(...args);
        } catch (e) {
          blamed ??= node;
          throw e;
        }
      };
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const at = (blamed as Alias | null)?.range?.[0];
    const p = at != null ? lc.linePos(at) : { line: 1, col: 1 };
    const why = /excessive alias count/i.test((e as Error).message)
      ? 'aliases expand to too many copies (over 100; an alias bomb?): the spec is refused'
      : `cannot be read: ${(e as Error).message.split('\n')[0]}`;
    throw new SpecError([{ file: shown, line: p.line, col: p.col, field: '', message: why }]);
  }
}

export function parseCheckSpec(text: string, file: string): CheckSpec {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const shown = path.relative(process.cwd(), abs) || abs;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const loc = new Locator(doc, lc, shown);
  if (doc.errors.length) {
    // A syntax error makes the parser stumble on for a while (an unclosed '[' also reads as bad indentation and
    // nested mappings): the first is the one to fix, the rest would only repeat it. Duplicate keys stand each alone.
    const firstSyntax = doc.errors.find((e) => e.code !== 'DUPLICATE_KEY');
    throw new SpecError(
      doc.errors
        .filter((e) => e === firstSyntax || e.code === 'DUPLICATE_KEY')
        .map((e) => {
          const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
          return { file: shown, line: p.line, col: p.col, field: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') };
        }),
    );
  }
  const data = specData(doc, lc, shown);
  if (data == null) throw new SpecError([{ file: shown, line: 1, col: 1, field: '', message: 'the spec is empty: it needs at least "cases: [...]"' }]);
  const errors = validate(data);
  if (errors.length) throw new SpecError(schemaIssues(errors, loc));

  const raw = data as RawSpec;
  const issues: SpecIssue[] = [];
  const annotationCache = new Map<string, Map<string, AnnotationEntry> | null>();

  const resolveRegion = (r: NonNullable<RawExpect['region']>, at: Segment[], images: string[]): RegionSpec | undefined => {
    if (r.boxes) {
      const units = r.units ?? 'pixels';
      if (units === 'fraction') {
        r.boxes.forEach((b, i) => {
          if (b.x + b.width > 1 + 1e-9 || b.y + b.height > 1 + 1e-9) issues.push(loc.issue([...at, 'boxes', i], 'with units: fraction, a box must lie within 0..1 (x + width <= 1, y + height <= 1)'));
        });
      }
      return { kind: 'boxes', boxes: r.boxes, units };
    }
    if (r.units) issues.push(loc.issue(at, "only applies to 'boxes'", 'units'));
    if (r.mask) {
      const template = path.resolve(dir, r.mask);
      const files = new Map<string, string>();
      for (const img of images) {
        const f = maskFileFor(template, img);
        if (!fs.existsSync(f)) {
          issues.push(loc.issue([...at, 'mask'], `no mask file ${path.relative(dir, f) || f} for image ${path.relative(dir, img)}`));
          break;
        }
        files.set(img, f);
      }
      return { kind: 'mask', template, files };
    }
    const file = path.resolve(dir, r.annotations!);
    if (!annotationCache.has(file)) annotationCache.set(file, readAnnotations(file, loc, [...at, 'annotations'], issues));
    const entries = annotationCache.get(file);
    if (!entries) return undefined;
    const missing = images.filter((img) => !entries.has(img));
    if (missing.length) {
      issues.push(loc.issue([...at, 'annotations'], `${path.relative(dir, file)} has no entry for ${missing.slice(0, 3).map((m) => path.relative(path.dirname(file), m)).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`));
    }
    return { kind: 'annotations', file, entries };
  };

  const cases: (CheckCase & { named: boolean })[] = raw.cases.map((c, index) => {
    const at: Segment[] = ['cases', index];
    const patterns = Array.isArray(c.images) ? c.images : [c.images];
    const images = expandImages(patterns, dir, loc, [...at, 'images'], !Array.isArray(c.images), issues);

    const modelAt: Segment[] = c.model != null ? [...at, 'model'] : ['model'];
    const modelGiven = c.model ?? raw.model;
    if (modelGiven == null) issues.push(loc.issue(at, "missing field 'model' (give it here or at the top level)"));
    const model = modelGiven == null ? '' : isUrl(modelGiven) ? modelGiven : path.resolve(dir, modelGiven);
    if (modelGiven != null && !isUrl(modelGiven) && !fs.existsSync(model)) issues.push(loc.issue(modelAt, `no such model folder or file: ${modelGiven} (relative to ${dir})`));

    const methodAt: Segment[] = c.method != null ? [...at, 'method'] : raw.method != null ? ['method'] : at;
    const method = c.method ?? raw.method;
    if (method != null) {
      try {
        parseMethods(method);
      } catch (e) {
        issues.push(loc.issue(methodAt, (e as Error).message));
      }
    }
    const layerGiven = c.layer ?? raw.layer;
    const layerAt: Segment[] = c.layer != null ? [...at, 'layer'] : raw.layer != null ? ['layer'] : at;

    // Expectations: the top-level defaults, overridden key by key by the case's own.
    const merged: RawExpect = { ...(raw.expect ?? {}), ...(c.expect ?? {}) };
    const regionAt: Segment[] = c.expect?.region ? [...at, 'expect', 'region'] : ['expect', 'region'];
    const region = merged.region ? resolveRegion(merged.region, regionAt, images) : undefined;
    const expect: Expectations = {
      topK: merged.topK,
      minProbability: merged.minProbability,
      region,
      pointingGame: merged.pointingGame,
      minInside: merged.minInside,
      maxInside: merged.maxInside,
      maxOutside: merged.maxOutside,
      minIou: merged.minIou,
      boxThreshold: merged.boxThreshold ?? 0.2,
      minCorrelation: merged.minCorrelation,
      ...(typeof merged.maxPeakShift === 'string' ? { maxPeakShiftPx: Number(merged.maxPeakShift.trim().replace(/\s*px$/i, '')) } : { maxPeakShift: merged.maxPeakShift }),
      maxFlips: merged.maxFlips,
      maxProbabilityDrop: merged.maxProbabilityDrop,
    };
    // A baseline (diff): the case's own, else the top-level one; its thresholds need one.
    const diffGiven = c.diff ?? raw.diff;
    const diffAt: Segment[] = c.diff ? [...at, 'diff'] : raw.diff ? ['diff'] : at;
    let diff: CheckCase['diff'];
    if (diffGiven) {
      const b = diffGiven.baseline;
      const baseline = isUrl(b) ? b : path.resolve(dir, b);
      if (!isUrl(b) && !fs.existsSync(baseline)) issues.push(loc.issue([...diffAt, 'baseline'], `no such model folder or file: ${b} (relative to ${dir})`));
      const layers = diffGiven.layer == null ? undefined : Array.isArray(diffGiven.layer) ? diffGiven.layer : [diffGiven.layer];
      diff = { baseline, ...(layers ? { layers } : {}) };
    } else {
      for (const k of DIFF_CHECKS) {
        if (merged[k] !== undefined) {
          const own = c.expect?.[k] !== undefined;
          issues.push(loc.issue(own ? [...at, 'expect'] : ['expect'], 'needs a baseline to compare with (diff: {baseline: <model>})', k));
        }
      }
    }
    const expAt: Segment[] = c.expect ? [...at, 'expect'] : raw.expect ? ['expect'] : at;
    if (!merged.region) {
      for (const k of REGION_CHECKS) {
        if (merged[k] !== undefined) {
          const own = c.expect?.[k] !== undefined;
          issues.push(loc.issue(own ? [...at, 'expect'] : ['expect'], 'needs a region to measure against (expect.region)', k));
        }
      }
    }
    const checks = ['topK', 'minProbability', ...REGION_CHECKS] as const;
    if (![...checks, ...DIFF_CHECKS].some((k) => merged[k] !== undefined)) {
      // The diff thresholds are named only where there is a baseline to compare with.
      issues.push(loc.issue(expAt, `no expectations: give at least one of ${[...checks, ...(diff ? DIFF_CHECKS : [])].join(', ')} (here or in the top-level expect)`));
    }
    if (merged.minInside !== undefined && merged.maxInside !== undefined && merged.minInside > merged.maxInside) {
      issues.push(loc.issue(expAt, `minInside (${merged.minInside}) is above maxInside (${merged.maxInside}): no map can pass`));
    }
    if (c.class != null && c.target != null) issues.push(loc.issue([...at, 'target'], "give either 'class' or 'target', not both (class: <c> is target: class:<c>)"));
    // The top-level target is a default: a case that names its class keeps it.
    const target = c.target ?? (c.class == null ? raw.target : undefined);
    const targetAt: Segment[] = c.target != null ? [...at, 'target'] : ['target'];
    const name = c.name ?? patterns.join(', ');
    const named = c.name != null;
    return {
      index,
      name,
      named,
      model,
      method,
      layers: layerGiven == null ? undefined : Array.isArray(layerGiven) ? layerGiven : [layerGiven],
      class: c.class,
      ...(target != null ? { target } : {}),
      images,
      expect,
      ...(diff ? { diff } : {}),
      where: {
        case: loc.where(at),
        model: loc.where(modelAt),
        method: loc.where(methodAt),
        layer: loc.where(layerAt),
        class: loc.where(c.class != null ? [...at, 'class'] : at),
        target: loc.where(target != null ? targetAt : at),
        diff: loc.where(diffAt),
      },
    };
  });
  // Case names label JUnit suites and the table: explicit ones must be distinct; default ones get a number.
  const names = new Map<string, number>();
  for (const c of cases.filter((x) => x.named)) {
    const prev = names.get(c.name);
    if (prev !== undefined) issues.push(loc.issue(['cases', c.index], `two cases are named '${c.name}' (also cases[${prev}]): give each a distinct name`, 'name'));
    else names.set(c.name, c.index);
  }
  for (const c of cases.filter((x) => !x.named)) {
    if (names.has(c.name)) c.name = `${c.name} (case ${c.index + 1})`;
    names.set(c.name, c.index);
  }
  if (issues.length) throw new SpecError(issues);
  return { file: abs, dir, cases: cases.map(({ named: _named, ...c }) => c) };
}

const MAX_SPEC_BYTES = 16 * 1024 * 1024;

/** Reads, validates and resolves a spec file (YAML or JSON). Throws SpecError (exit code 2) listing every problem. */
export function loadCheckSpec(file: string): CheckSpec {
  let text: string;
  try {
    // Size-limited like the sidecar and labels: a spec is hand-written text, never read whole when huge.
    text = readSmallFile(file, MAX_SPEC_BYTES, 'the check spec');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `no such spec file: ${file}` : code === 'EISDIR' ? `${file} is a folder, not a spec file` : `cannot read ${file}: ${(e as Error).message}`);
  }
  return parseCheckSpec(text, file);
}

/** Relative path of an image as shown in reports: relative to the spec's folder, forward slashes. */
export function shownPath(spec: CheckSpec, file: string): string {
  return toPosix(path.relative(spec.dir, file));
}
