// Reading check specs: YAML and JSON, the published schema, and errors that name the file, line, column and field.
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { parseCheckSpec, SpecError, formatIssue, loadCheckSpec } from '../../src/check/spec';
import { tempDir } from '../helpers/cli';
import schema from '../../schema/check-spec.schema.json';

let dir: string;

beforeAll(() => {
  dir = tempDir('spec');
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'model.json'), '{}');
  fs.mkdirSync(path.join(dir, 'img', 'sub'), { recursive: true });
  for (const f of ['a.png', 'b.jpg', 'notes.txt', 'sub/c.png']) fs.writeFileSync(path.join(dir, 'img', f), 'x');
  fs.mkdirSync(path.join(dir, 'masks'));
  fs.writeFileSync(path.join(dir, 'masks', 'a.png'), 'x');
  fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify({ version: 1, images: { 'img/a.png': { label: '7', class: 7, boxes: [{ x: 1, y: 2, width: 3, height: 4 }] }, 'img/sub/c.png': { boxes: [{ x: 1, y: 2, width: 3, height: 4 }] } } }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The problems of a spec text, each formatted as the CLI prints it. */
function problems(text: string, name = 'spec.yaml'): string[] {
  try {
    parseCheckSpec(text, path.join(dir, name));
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => formatIssue({ ...i, file: path.basename(i.file) }));
    throw e;
  }
  return [];
}

test('a full spec resolves: defaults merged, globs expanded relative to the spec, regions read', () => {
  const spec = parseCheckSpec(
    [
      'version: 1',
      'model: model',
      'method: gradcam++',
      'expect: {topK: 3, boxThreshold: 0.3}',
      'cases:',
      '  - images: ["img/*.png", img/a.png, "img/**/*.png"]',
      '    class: 7',
      '    expect:',
      '      topK: 1',
      '      region: {annotations: boxes.json}',
      '      pointingGame: true',
      '  - name: fractions',
      '    images: img',
      '    layer: [conv1, conv2]',
      '    class: seven',
      '    expect: {region: {units: fraction, boxes: [{x: 0.1, y: 0.2, width: 0.5, height: 0.5}]}, minInside: 0.5, maxOutside: 0.5, minIou: 0.3}',
      '  - images: img/a.png',
      '    expect: {region: {mask: "masks/{stem}.png"}, maxInside: 0.1}',
      '',
    ].join('\n'),
    path.join(dir, 'spec.yaml'),
  );
  expect(spec.cases).toHaveLength(3);
  const [a, b, c] = spec.cases;
  // Each pattern's matches sorted, patterns in order, repeats dropped, non-images left out of globs.
  expect(a.images.map((f) => path.relative(dir, f))).toEqual(['img/a.png', 'img/sub/c.png'].map((p) => p.split('/').join(path.sep)));
  expect(a.model).toBe(path.join(dir, 'model'));
  expect(a.method).toBe('gradcam++');
  expect(a.expect).toMatchObject({ topK: 1, pointingGame: true, boxThreshold: 0.3 });
  expect(a.expect.region?.kind).toBe('annotations');
  expect(a.name).toBe('img/*.png, img/a.png, img/**/*.png');
  // A folder is searched like `explain` does.
  expect(b.images.map((f) => path.basename(f))).toEqual(['a.png', 'b.jpg', 'c.png']);
  expect(b.layers).toEqual(['conv1', 'conv2']);
  expect(b.class).toBe('seven');
  expect(b.expect.topK).toBe(3);
  expect(b.expect.region).toEqual({ kind: 'boxes', units: 'fraction', boxes: [{ x: 0.1, y: 0.2, width: 0.5, height: 0.5 }] });
  expect(c.expect.region?.kind).toBe('mask');
  expect(b.where.class).toBe(`${path.relative(process.cwd(), path.join(dir, 'spec.yaml'))}:15:12: cases[1].class`);
});

test('YAML syntax errors and duplicate keys: line and column', () => {
  expect(problems('cases:\n  - images: [a.png\n')).toEqual([expect.stringMatching(/^spec\.yaml:3:1: /)]);
  expect(problems('cases: []\ncases: []\n')).toEqual(['spec.yaml:2:1: Map keys must be unique']);
  expect(problems('')).toEqual(['spec.yaml:1:1: the spec is empty: it needs at least "cases: [...]"']);
  // One syntax error, one line: the parser's follow-on complaints about the same spot are not repeated.
  expect(problems('cases:\n  - model: x\n    images: [a\n  bad: : :\n')).toEqual(['spec.yaml:4:3: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  // two duplicate keys are two problems
  expect(problems('cases: []\ncases: []\nmodel: a\nmodel: b\n')).toEqual(['spec.yaml:2:1: Map keys must be unique', 'spec.yaml:4:1: Map keys must be unique']);
});

test('a YAML alias bomb is a spec error at the alias where the expansion goes over, not an unexpected one', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]', //    1
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', // 2
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', // 3
    'cases: [*c]', //                              4: *c would be 9 x 9 x 9 = 729 copies of x
  ].join('\n');
  expect(problems(bomb)).toEqual(['spec.yaml:4:9: aliases expand to too many copies (over 100; an alias bomb?): the spec is refused']);
  // aliases used within reason are fine
  expect(problems('model: model\ncases:\n  - {images: img/a.png, class: 7, expect: &d {topK: 1}}\n  - {images: img/b.jpg, class: 7, expect: *d}\n')).toEqual([]);
});

test('schema errors in words, each at its field', () => {
  const text = [
    'model: model', //                                  1
    'metod: gradcam', //                                2
    'cases:', //                                        3
    '  - images: ""', //                                4
    '    class: -1', //                                 5
    '    expect:', //                                   6
    '      topK: 1.5', //                               7
    '      region: {units: fraction}', //               8
    '      pointingGame: "yes"', //                     9
    '  - expect: {minIou: 2}', //                      10
    '  - images: img/a.png', //                        11
    '    expect: {region: {boxes: [{x: 1, y: 1, width: 0, height: 2}], mask: m.png}}', // 12
    '',
  ].join('\n');
  expect(problems(text).sort()).toEqual(
    [
      "spec.yaml:2:1: metod: unknown field (did you mean 'method'?)",
      'spec.yaml:4:13: cases[0].images: must not be empty',
      'spec.yaml:5:12: cases[0].class: must be at least 0',
      'spec.yaml:7:13: cases[0].expect.topK: must be a whole number',
      "spec.yaml:8:15: cases[0].expect.region: needs exactly one of 'boxes', 'mask', 'annotations'",
      'spec.yaml:9:21: cases[0].expect.pointingGame: must be true or false',
      "spec.yaml:10:5: cases[1]: missing field 'images'",
      'spec.yaml:10:22: cases[1].expect.minIou: must be at most 1',
      'spec.yaml:12:51: cases[2].expect.region.boxes[0].width: must be more than 0',
      "spec.yaml:12:22: cases[2].expect.region: needs exactly one of 'boxes', 'mask', 'annotations'",
    ].sort(),
  );
});

test('JSON specs get line numbers too', () => {
  const text = JSON.stringify({ model: 'model', cases: [{ images: 'img/a.png', expect: { minProbability: 1.2 } }] }, null, 2);
  expect(problems(text, 'spec.json')).toEqual(['spec.json:7:27: cases[0].expect.minProbability: must be at most 1']);
  const broken = problems('{"cases": [}', 'spec.json');
  expect(broken.length).toBeGreaterThan(0);
  for (const p of broken) expect(p).toMatch(/^spec\.json:1:\d+: /);
});

test('problems found after the schema: files, globs, methods, regions, expectations', () => {
  const text = [
    'cases:', //                                               1
    '  - images: img/none-*.png', //                           2
    '    expect: {topK: 1}', //                                3
    '  - images: [img/a.png, img/missing.png]', //             4
    '    model: nowhere', //                                   5
    '    method: gradcan', //                                  6
    '    expect: {region: {units: fraction, boxes: [{x: 0.5, y: 0, width: 0.6, height: 1}]}, minInside: 0.6, maxInside: 0.4}', // 7
    '  - images: img/b.jpg', //                                8
    '    model: model', //                                     9
    '    expect: {region: {mask: "masks/{stem}.png"}, pointingGame: true}', // 10
    '  - images: img/b.jpg', //                                11
    '    model: model', //                                     12
    '    expect: {region: {annotations: boxes.json}, minIou: 0.5}', // 13
    '  - images: img/a.png', //                                14
    '    model: model', //                                     15
    '    expect: {minIou: 0.5}', //                            16
    '  - images: img/a.png', //                                17
    '    model: model', //                                     18
    '',
  ].join('\n');
  expect(problems(text)).toEqual([
    expect.stringMatching(/^spec\.yaml:2:13: cases\[0\]\.images: 'img\/none-\*\.png' matches no image/),
    "spec.yaml:2:5: cases[0]: missing field 'model' (give it here or at the top level)",
    "spec.yaml:4:25: cases[1].images[1]: 'img/missing.png': no such file or folder",
    expect.stringMatching(/^spec\.yaml:5:12: cases\[1\]\.model: no such model folder or file: nowhere/),
    expect.stringMatching(/^spec\.yaml:6:13: cases\[1\]\.method: unknown method 'gradcan'/),
    'spec.yaml:7:48: cases[1].expect.region.boxes[0]: with units: fraction, a box must lie within 0..1 (x + width <= 1, y + height <= 1)',
    'spec.yaml:7:13: cases[1].expect: minInside (0.6) is above maxInside (0.4): no map can pass',
    'spec.yaml:10:29: cases[2].expect.region.mask: no mask file masks/b.png for image img/b.jpg',
    'spec.yaml:13:36: cases[3].expect.region.annotations: boxes.json has no entry for img/b.jpg',
    'spec.yaml:16:14: cases[4].expect.minIou: needs a region to measure against (expect.region)',
    'spec.yaml:17:5: cases[5]: no expectations: give at least one of topK, minProbability, pointingGame, minInside, maxInside, maxOutside, minIou (here or in the top-level expect)',
  ]);
});

test('two cases with one name are refused, unnamed ones are numbered; a missing spec file is a usage error', () => {
  const spec = parseCheckSpec('model: model\ncases:\n  - {images: img/a.png, expect: {topK: 1}}\n  - {images: img/a.png, expect: {topK: 2}}\n', path.join(dir, 's.yaml'));
  expect(spec.cases.map((c) => c.name)).toEqual(['img/a.png', 'img/a.png (case 2)']);
  expect(problems('model: model\ncases:\n  - {name: x, images: img/a.png, expect: {topK: 1}}\n  - {name: x, images: img/b.jpg, expect: {topK: 1}}\n')).toEqual([
    "spec.yaml:4:6: cases[1].name: two cases are named 'x' (also cases[0]): give each a distinct name",
  ]);
  expect(() => loadCheckSpec(path.join(dir, 'nope.yaml'))).toThrow(/no such spec file/);
});

test('the published schema is valid JSON Schema (draft-07) and accepts the README example', () => {
  const ajv = new Ajv({ allowUnionTypes: true, strictRequired: false });
  const validate = ajv.compile(schema);
  expect(validate({ model: 'm', cases: [{ images: ['a/*.png'], class: 'cat', expect: { topK: 5, region: { boxes: [{ x: 0, y: 0, width: 1, height: 1 }] }, pointingGame: true } }] })).toBe(true);
  expect(validate({ cases: [{ images: 'a.png', expect: { pointingGame: 1 } }] })).toBe(false);
});
