// No import circle in src/: each module depends on modules below it, so the folder list reads as the layers
// (core, adapters, pipeline, commands). Type-only imports count too: a circle of types is still two modules
// that each need the other to be understood.
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from '../helpers/cli';
import { importsOf, resolveLocal } from '../helpers/imports';

type Graph = Map<string, string[]>;

/** The strongly connected components of more than one module (or a module importing itself): Tarjan's algorithm. */
export function importCycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

function sourceGraph(dir: string): Graph {
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  const graph: Graph = new Map();
  for (const file of files) {
    const deps = importsOf(file).filter((i) => i.spec.startsWith('.') && !i.spec.endsWith('.json')).map((i) => path.relative(ROOT, resolveLocal(file, i.spec)));
    graph.set(path.relative(ROOT, file), [...new Set(deps)]);
  }
  return graph;
}

test('the cycle finder finds circles of every length and nothing in a tree', () => {
  const g: Graph = new Map([
    ['a', ['b']],
    ['b', ['c', 'd']],
    ['c', ['a']],
    ['d', ['e']],
    ['e', []],
    ['f', ['f']],
    ['g', ['h']],
    ['h', ['g', 'e']],
  ]);
  expect(importCycles(g)).toEqual(expect.arrayContaining([['a', 'b', 'c'], ['f'], ['g', 'h']]));
  expect(importCycles(g)).toHaveLength(3);
  expect(importCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
});

test('src/ has no import circle (type-only imports included)', () => {
  const graph = sourceGraph(path.join(ROOT, 'src'));
  // The graph is really the project's: the pipeline imports the worker pool, and the CLI its commands.
  expect(graph.get('src/pipeline/explain.ts')).toContain('src/batch/pool.ts');
  expect(graph.get('src/cli/main.ts')?.length).toBeGreaterThan(3);
  expect(importCycles(graph).map((c) => c.join(' <-> '))).toEqual([]);
});
