/**
 * A check report as JUnit XML, the format CI systems display (GitHub Actions report actions, GitLab, Jenkins,
 * Azure): one <testsuite> per spec case, one <testcase> per image, <failure> for failed expectations and <error>
 * for images that could not be checked.
 */
import * as path from 'path';
import { escapeXml } from '../render/sheet';
import type { CheckReport, CheckResult } from './run';

const attr = (s: string | number) => escapeXml(String(s));
const secs = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

function details(r: CheckResult): string {
  const lines: string[] = [];
  if (r.class) lines.push(`class: ${r.class.label} (index ${r.class.index}), probability ${r.probability}, rank ${r.rank}`);
  else if (r.target) lines.push(`target: ${r.target.label} (${r.target.spec}), probability ${r.probability}, rank ${r.rank}`);
  if (r.peak) lines.push(`peak: (${r.peak.x}, ${r.peak.y}) in image pixels${r.flat ? ' [flat map]' : ''}`);
  if (r.region) lines.push(`region: pointing ${r.region.pointingHit ? 'hit' : 'miss'}, inside ${r.region.inside}, outside ${r.region.outside}, IoU ${r.region.iou}`);
  if (r.diff) lines.push(`diff with ${r.diff.baseline}: correlation ${r.diff.correlation}, IoU ${r.diff.iou}, peak shift ${r.diff.peakShift ? `${r.diff.peakShift.px} px` : 'n/a (flat map)'}, probability ${r.diff.baselineProbability} -> ${r.probability}${r.diff.flipped ? ', top-1 flipped' : ''}`);
  return lines.join('\n');
}

export function toJUnit(report: CheckReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const s = report.summary;
  const totalMs = report.results.reduce((a, r) => a + (r.ms ?? 0), 0);
  out.push(`<testsuites name="tfjs-cam check ${attr(report.spec)}" tests="${s.checks}" failures="${s.failed}" errors="${s.errors}" skipped="0" time="${secs(totalMs)}">`);
  report.cases.forEach((c, ci) => {
    const results = report.results.filter((r) => r.case === ci);
    const ms = results.reduce((a, r) => a + (r.ms ?? 0), 0);
    out.push(`  <testsuite name="${attr(c.name)}" tests="${results.length}" failures="${c.failed}" errors="${c.errors}" skipped="0" time="${secs(ms)}">`);
    out.push('    <properties>');
    out.push(`      <property name="model" value="${attr(c.model)}"/>`);
    out.push(`      <property name="methods" value="${attr(c.methods.join(","))}"/>`);
    out.push(`      <property name="layers" value="${attr(c.layers.join(','))}"/>`);
    out.push(`      <property name="backend" value="${attr(report.backend)}"/>`);
    out.push('    </properties>');
    for (const r of results) {
      const shown = r.class?.label ?? r.target?.label;
      const name = `${r.file}${shown ? ` [${shown}]` : ''} ${r.method}`;
      const open = `    <testcase classname="${attr(`tfjs-cam.check.${c.name}`)}" name="${attr(name)}" time="${secs(r.ms)}"`;
      const overlay = r.overlay && report.output.dir ? path.relative(process.cwd(), path.join(report.output.dir, r.overlay)).split(path.sep).join('/') : null;
      const body: string[] = [];
      if (r.status === 'fail') {
        const msg = r.failures.map((f) => f.message).join('; ');
        body.push(`      <failure message="${attr(msg)}" type="${attr(r.failures.map((f) => f.check).join(','))}">${escapeXml([...r.failures.map((f) => `${f.check}: expected ${f.expected}, got ${f.actual}`), details(r)].join('\n'))}</failure>`);
      } else if (r.status === 'error') {
        body.push(`      <error message="${attr(r.error ?? 'error')}" type="error">${escapeXml(r.error ?? '')}</error>`);
      }
      const sysout = [r.status !== 'fail' ? details(r) : '', overlay ? `overlay: ${overlay}\n[[ATTACHMENT|${overlay}]]` : ''].filter(Boolean).join('\n');
      if (sysout) body.push(`      <system-out>${escapeXml(sysout)}</system-out>`);
      out.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`);
    }
    out.push('  </testsuite>');
  });
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
