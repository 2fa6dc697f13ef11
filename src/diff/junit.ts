/**
 * A diff report as JUnit XML, as `check --junit` writes its own: one <testsuite> for the run, one <testcase> per
 * image and compared map (image [class] method), <failure> for thresholds not held (a top-1 flip past --max-flips
 * included), <error> for images that could not be compared.
 */
import { escapeXml } from '../render/sheet';
import type { DiffComparison, DiffImage, DiffReport } from './report';

const attr = (s: string | number) => escapeXml(String(s));
const secs = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

function details(img: DiffImage, c: DiffComparison): string {
  const lines = [
    `correlation ${c.correlation}, IoU of the top 20% regions ${c.iou}`,
    c.peakShift ? `peak moved ${c.peakShift.px} px (${(c.peakShift.share * 100).toFixed(1)}% of the diagonal)` : `peak: ${c.base.flat ? 'base map flat' : ''}${c.base.flat && c.head.flat ? ', ' : ''}${c.head.flat ? 'head map flat' : ''}`,
    `probability ${c.base.probability} -> ${c.head.probability} (${c.probabilityChange >= 0 ? '+' : ''}${c.probabilityChange})`,
    `top-1: ${img.base?.top[0]?.label ?? '?'} -> ${img.head?.top[0]?.label ?? '?'}${img.flipped ? ' (flipped)' : ''}`,
  ];
  if (c.files) lines.push(`overlays: ${c.files.base}, ${c.files.head}, ${c.files.difference}`);
  return lines.join('\n');
}

export function diffToJUnit(report: DiffReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const cases: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let totalMs = 0;
  const name = `${report.base.source} -> ${report.head.source}`;
  for (const img of report.images) {
    totalMs += img.ms ?? 0;
    if (img.status === 'error') {
      tests++;
      errors++;
      cases.push(`    <testcase classname="tfjs-cam.diff" name="${attr(img.file)}" time="0.000">\n      <error message="${attr(img.error ?? 'error')}" type="error">${escapeXml(img.error ?? '')}</error>\n    </testcase>`);
      continue;
    }
    const comps = img.comparisons ?? [];
    const per = comps.length ? (img.ms ?? 0) / comps.length : 0;
    comps.forEach((c, k) => {
      tests++;
      const shown = c.class?.label ?? c.target?.label;
      const open = `    <testcase classname="tfjs-cam.diff" name="${attr(`${img.file} [${shown}] ${c.method}`)}" time="${secs(per)}"`;
      // An image's own failures (a flip) go with its first comparison.
      const all = [...c.failures, ...(k === 0 ? img.failures ?? [] : [])];
      const body: string[] = [];
      if (all.length) {
        failures++;
        body.push(`      <failure message="${attr(all.map((f) => f.message).join('; '))}" type="${attr(all.map((f) => f.check).join(','))}">${escapeXml([...all.map((f) => `${f.check}: expected ${f.expected}, got ${f.actual}`), details(img, c)].join('\n'))}</failure>`);
      } else body.push(`      <system-out>${escapeXml(details(img, c))}</system-out>`);
      cases.push(`${open}>\n${body.join('\n')}\n    </testcase>`);
    });
  }
  out.push(`<testsuites name="tfjs-cam diff ${attr(name)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${secs(totalMs)}">`);
  out.push(`  <testsuite name="${attr(name)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${secs(totalMs)}">`);
  out.push('    <properties>');
  out.push(`      <property name="base" value="${attr(report.base.source)}"/>`);
  out.push(`      <property name="head" value="${attr(report.head.source)}"/>`);
  out.push(`      <property name="methods" value="${attr(report.methods.join(','))}"/>`);
  out.push(`      <property name="base layers" value="${attr(report.base.layers.join(','))}"/>`);
  out.push(`      <property name="head layers" value="${attr(report.head.layers.join(','))}"/>`);
  out.push(`      <property name="backend" value="${attr(report.backend)}"/>`);
  out.push('    </properties>');
  out.push(...cases);
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
