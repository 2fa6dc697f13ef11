// The core and the browser adapters import no Node module: every file reached from src/core.ts and
// src/browser/ (static and dynamic imports and require calls, type-only imports aside) imports only other
// project files or @tensorflow/* packages. The built bundle is checked the same way.
import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';
import { ROOT } from '../helpers/cli';
import { importsOf, resolveLocal } from '../helpers/imports';

/** Every project file reached from `entries`, with the packages each imports at run time. */
function walk(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [...entries];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const packages: string[] = [];
    seen.set(file, packages);
    for (const { spec, typeOnly } of importsOf(file)) {
      if (typeOnly) continue; // erased at build time
      if (spec.startsWith('.')) todo.push(resolveLocal(file, spec));
      else packages.push(spec);
    }
  }
  return seen;
}

const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const allowed = (spec: string) => spec.startsWith('@tensorflow/') && !NODE.has(spec);

test('the core and src/browser import only project files and @tensorflow/* packages', () => {
  const browserDir = path.join(ROOT, 'src', 'browser');
  const entries = [path.join(ROOT, 'src', 'core.ts'), ...fs.readdirSync(browserDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(browserDir, f))];
  const files = walk(entries);
  const bad = [...files].flatMap(([file, specs]) => specs.filter((s) => !allowed(s)).map((s) => `${path.relative(ROOT, file)} imports '${s}'`));
  expect(bad).toEqual([]);
  // The walk really covers the core (a broken walk would pass vacuously): the methods, capture and models.
  const rel = [...files.keys()].map((f) => path.relative(ROOT, f));
  for (const f of ['src/pipeline/explain-tensor.ts', 'src/methods/scorecam.ts', 'src/capture/gradients.ts', 'src/model/layers-classifier.ts', 'src/model/graph-classifier.ts', 'src/render/colormap.ts', 'src/image/fit.ts']) {
    expect(rel).toContain(f);
  }
  // And the scanner sees a Node import where there is one.
  const node = walk([path.join(ROOT, 'src', 'render', 'overlay.ts')]);
  expect(node.get(path.join(ROOT, 'src', 'render', 'overlay.ts'))).toContain('sharp');
});

const BUNDLE = path.join(ROOT, 'dist', 'browser', 'tfjs-cam.mjs');
(fs.existsSync(BUNDLE) ? test : test.skip)('the built bundle imports only @tensorflow/* (npm run build makes it)', () => {
  const src = fs.readFileSync(BUNDLE, 'utf8');
  const specs = [...src.matchAll(/\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)|__require\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  expect(specs.length).toBeGreaterThan(0);
  expect(specs.filter((s) => !allowed(s))).toEqual([]);
  // The library's public names are there.
  for (const name of ['loadModel', 'explainTensor', 'renderOverlay', 'initBackend', 'imageToInput', 'readImage']) expect(src).toMatch(new RegExp(`\\b${name}\\b`));
});
