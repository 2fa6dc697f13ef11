// What a run says about itself, end to end: `--method all` on a graph model names the methods it left out and why
// (once on stderr, and in the report's notes, for explain and evaluate); a model with fewer classes than the
// default top-k has all its classes explained without a note, while an explicit -k above them still gets one.
import * as fs from 'fs';
import * as path from 'path';
import { saveLayersModel } from '../../src/model/save';
import { gapDenseModel } from '../helpers/models';
import { runCli, tempDir } from '../helpers/cli';
import { spotPng, writeGraphModel } from '../faults/fixtures';

let dir: string;
const LEFT_OUT =
  '--method all left out refinecam: RefineCAM multiplies the maps of several target layers (--layer a --layer b); with one it is Grad-CAM++; ' +
  'guided-backprop and guided-gradcam: this is a graph model, which tfjs-converter runs with its own copy of the ops, out of reach of the guided ReLU; ' +
  'fullgrad: FullGrad needs a layers model to find the biases, and this is a graph model';

beforeAll(async () => {
  dir = tempDir('notes');
  writeGraphModel(path.join(dir, 'graph'), 'Identity');
  const two = gapDenseModel(16, 2);
  await saveLayersModel(two, path.join(dir, 'two'));
  two.dispose();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in', 'a.png'), await spotPng(24, 20));
  fs.writeFileSync(path.join(dir, 'in', 'boxes.json'), JSON.stringify({ version: 1, images: { 'a.png': { class: 1, boxes: [{ x: 0, y: 0, width: 12, height: 10 }] } } }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const notesOn = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('note: '));

test('--method all on a graph model: the methods left out and why, once on stderr and in the report (explain and evaluate)', () => {
  const r = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'graph'), '--method', 'all', '-k', '1', '-o', path.join(dir, 'out-all'), '--json']);
  expect(r.code).toBe(0);
  expect(notesOn(r.stderr)).toEqual([`note: ${LEFT_OUT}`]);
  const report = JSON.parse(r.stdout);
  expect(report.notes).toEqual([LEFT_OUT]);
  expect(report.methods).not.toContain('guided-backprop');
  expect(report.methods).not.toContain('fullgrad');
  expect(report.methods).toContain('cam');
  expect(report.images[0].maps.map((m: { method: string }) => m.method)).toEqual(report.methods);

  const e = runCli(['evaluate', '-m', path.join(dir, 'graph'), '--boxes', path.join(dir, 'in', 'boxes.json'), '--method', 'all', '--no-faithfulness', '-o', path.join(dir, 'eval-all'), '--json']);
  expect(e.code).toBe(0);
  expect(notesOn(e.stderr)).toEqual([`note: ${LEFT_OUT}`]);
  const evaluation = JSON.parse(e.stdout);
  expect(evaluation.notes).toEqual([LEFT_OUT]);
  expect(evaluation.methods.map((m: { method: string }) => m.method)).toEqual(report.methods);
});

test('a 2-class model: without -k both classes are explained, silently; -k 3 is clamped with a note', () => {
  const quiet = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'two'), '-o', path.join(dir, 'out-two'), '--json']);
  expect(quiet.code).toBe(0);
  expect(notesOn(quiet.stderr)).toEqual([]);
  const report = JSON.parse(quiet.stdout);
  expect(report.notes).toBeUndefined();
  expect(report.images[0].top.map((t: { index: number }) => t.index).sort()).toEqual([0, 1]);
  expect(report.images[0].maps).toHaveLength(2);

  const told = runCli(['explain', path.join(dir, 'in', 'a.png'), '-m', path.join(dir, 'two'), '-k', '3', '-o', path.join(dir, 'out-two-k3'), '--json']);
  expect(told.code).toBe(0);
  expect(notesOn(told.stderr)).toEqual(["note: --top-k 3 is more than the model's 2 classes: all 2 are explained"]);
  expect(JSON.parse(told.stdout).images[0].maps).toHaveLength(2);
});
