// Signed maps and colour scales: the diverging colour maps, Captum's clip on small arrays computed another way,
// the legend bar's pixels, the SVG legend, and a legend strip read back from a written PNG.
import sharp from 'sharp';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { colormapLut, divergingLut, DIVERGING_COLORMAPS, lutIndex } from '../../src/render/colormap';
import { channelSum, signedClip, signedToUnit, signedUnitMap } from '../../src/render/signed';
import { formatClip, gradientLegend, heatmapLegend, legendBar, legendStrip, legendSvg, signedLegend, stripLayout } from '../../src/render/legend';
import { encodeImage } from '../../src/render/overlay';

const rgbAt = (lut: Uint8Array, k: number) => [lut[3 * k], lut[3 * k + 1], lut[3 * k + 2]];
/** The colour of a value on the 0..1 scale, looked up as the overlays look it up. */
const colourOf = (lut: Uint8Array, u: number) => rgbAt(lut, lutIndex(u));

describe('diverging colour maps', () => {
  test('bwr: white for 0, pure blue at -clip, pure red at +clip and beyond; the halves mirror each other', () => {
    const lut = divergingLut('bwr');
    const clip = 0.8;
    const unit = signedToUnit(Float32Array.from([0, -clip, clip, 5, -5, clip / 2]), clip);
    expect(Array.from(unit)).toEqual([0.5, 0, 1, 1, 0, 0.75]);
    expect(colourOf(lut, unit[0])).toEqual([255, 255, 255]);
    expect(colourOf(lut, unit[1])).toEqual([0, 0, 255]);
    expect(colourOf(lut, unit[2])).toEqual([255, 0, 0]);
    expect([colourOf(lut, unit[3]), colourOf(lut, unit[4])]).toEqual([[255, 0, 0], [0, 0, 255]]);
    // clip / 2: entry floor(255 * 0.75) = 191, t = 64/127: red stays 255, green and blue 255 * (1 - 64/127) = 126.5 -> 126
    expect(colourOf(lut, unit[5])).toEqual([255, 126, 126]);
    for (let j = 1; j <= 127; j++) {
      const [r, g, b] = rgbAt(lut, 127 + j);
      expect([j, rgbAt(lut, 127 - j)]).toEqual([j, [b, g, r]]);
    }
    // the centre bin is symmetric about 0: a hair either side of zero is still white
    expect([colourOf(lut, 0.5 - 0.9 / 510), colourOf(lut, 0.5 + 0.9 / 510)]).toEqual([[255, 255, 255], [255, 255, 255]]);
  });

  test("rdwhgn is Captum's red-white-green (matplotlib 'green' = #008000); an unknown name is refused", () => {
    const lut = divergingLut('rdwhgn');
    expect([rgbAt(lut, 0), rgbAt(lut, 127), rgbAt(lut, 255)]).toEqual([[255, 0, 0], [255, 255, 255], [0, 128, 0]]);
    // entry 191 is t = 64/127 of the way from white to green: 255 - t * 255, 255 + t * (128 - 255), 255 - t * 255
    const t = 64 / 127;
    expect(rgbAt(lut, 191)).toEqual([Math.round(255 * (1 - t)), Math.round(255 + t * (128 - 255)), Math.round(255 * (1 - t))]);
    expect(DIVERGING_COLORMAPS).toEqual(['bwr', 'rdwhgn']);
    expect(() => divergingLut('rainbow' as 'bwr')).toThrow(/unknown diverging colormap 'rainbow' \(expected one of bwr, rdwhgn\)/);
  });
});

describe("Captum's clip: the largest |values| holding p% of the total saturate", () => {
  /** The same threshold found another way: the smallest |v| such that the |values| up to it hold (100 - p)% of the total. */
  const byMass = (values: number[], p: number) => {
    const abs = values.map(Math.abs);
    const total = abs.reduce((a, b) => a + b, 0);
    const candidates = [...new Set(abs)].sort((a, b) => a - b);
    return candidates.find((c) => abs.filter((v) => v <= c).reduce((a, b) => a + b, 0) >= (total * (100 - p)) / 100);
  };

  test('1..100 with alternating signs: 99 at 2% (not the 98th percentile by count, 98.02), 95 at 10%', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i % 2 ? -(i + 1) : i + 1));
    // running sums of 1..k are k(k+1)/2; the total is 5050. 98%: 4949, first reached at k = 99 (4950).
    expect(signedClip(Float32Array.from(values), 2)).toBe(99);
    expect(byMass(values, 2)).toBe(99);
    // 90%: 4545, first reached at k = 95 (4560)
    expect(signedClip(Float32Array.from(values), 10)).toBe(95);
    expect(byMass(values, 10)).toBe(95);
    // 0%: the largest value; the default is 2%
    expect(signedClip(Float32Array.from(values), 0)).toBe(100);
    expect(signedClip(Float32Array.from(values))).toBe(99);
  });

  test('one strong pixel among many weak: the clip stays at the weak ones, the strong one saturates', () => {
    const values = [...new Array(99).fill(10), -20]; // total 1010; 98% = 989.8 is reached at the 99th 10 (990)
    expect(signedClip(Float32Array.from(values))).toBe(10);
    expect(byMass(values, 2)).toBe(10);
    const { unit, clip } = signedUnitMap(Float32Array.from(values), 10, 10, 1);
    expect(clip).toBe(10);
    expect([unit[0], unit[99]]).toEqual([1, 0]);
  });

  test('seeded random arrays agree with the second implementation', () => {
    let s = 99;
    const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (const p of [0.5, 2, 10, 50]) {
      const values = Array.from({ length: 257 }, () => Math.fround(next() ** 3));
      expect([p, signedClip(Float32Array.from(values), p)]).toEqual([p, byMass(values, p)]);
    }
  });

  test('zeros, NaN and infinities count as 0; an all-zero map is all white; a bad share is refused', () => {
    expect(signedClip(new Float32Array(5))).toBe(0);
    expect(Array.from(signedToUnit(Float32Array.from([0, 0]), 0))).toEqual([0.5, 0.5]);
    expect(signedClip(Float32Array.from([NaN, Infinity, 3, -1]), 0)).toBe(3);
    expect(() => signedClip(new Float32Array(1), 100)).toThrow(/from 0 up to \(not including\) 100, got 100/);
    expect(() => signedClip(new Float32Array(1), -1)).toThrow(/got -1/);
  });

  test('channels are summed per pixel (channels last)', () => {
    expect(Array.from(channelSum(Float32Array.from([1, 2, 3, -1, -1, -1.5]), 2, 3))).toEqual([6, -3.5]);
    expect(() => channelSum(new Float32Array(5), 2, 3)).toThrow(/expected 2x3/);
  });
});

describe('legends', () => {
  test("the bar's columns are the table's entries as the overlays index them: ends 0 and 255, the middle 127", () => {
    const lut = divergingLut('bwr');
    const bar = legendBar(lut, 5, 2);
    // columns at 0, 1/4, 1/2, 3/4, 1: entries 0, floor(63.75) = 63, 127, floor(191.25) = 191, 255
    const want = [0, 63, 127, 191, 255].flatMap((k) => rgbAt(lut, k));
    expect(Array.from(bar)).toEqual([...want, ...want]);
    expect(Array.from(legendBar(colormapLut('jet'), 2, 1))).toEqual([...rgbAt(colormapLut('jet'), 0), ...rgbAt(colormapLut('jet'), 255)]);
    expect(() => legendBar(lut, 0, 1)).toThrow(/bad legend bar size/);
  });

  test('what the ends mean: per-map 0 = minimum and 1 = maximum; signed -clip, 0, +clip; gradient images mean -+ 5 sd', () => {
    expect(heatmapLegend('viridis').caption).toBe('viridis, each map scaled on its own: 0 = its minimum, 1 = its maximum');
    expect(heatmapLegend('viridis').ticks.map((t) => t.label)).toEqual(['0 = min', '0.5', '1 = max']);
    const one = signedLegend('bwr', { clip: 0.012345, outlierPercent: 2 });
    expect(one.ticks.map((t) => [t.at, t.label])).toEqual([[0, '\u22120.0123'], [0.5, '0'], [1, '+0.0123']]);
    expect(one.caption).toContain('the top 2% of |attribution| saturates');
    expect(signedLegend('rdwhgn').ticks.map((t) => t.label)).toEqual(['\u2212clip', '0', '+clip']);
    expect(gradientLegend().ticks.map((t) => t.label)).toEqual(['\u22125 sd', 'mean', '+5 sd']);
    expect([formatClip(1.39), formatClip(4.5678e-5), formatClip(123456), formatClip(0)]).toEqual(['1.39', '4.57e-5', '1.23e+5', '0']);
  });

  test('the SVG legend is well-formed XML with the bar as a gradient through the table, its labels and caption', () => {
    const svg = legendSvg(signedLegend('bwr'), { width: 300 });
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg).svg;
    expect(doc['@_width']).toBe('300');
    const stops = doc.defs.linearGradient.stop as Record<string, string>[];
    expect(stops.length).toBe(65);
    expect([stops[0]['@_stop-color'], stops[stops.length - 1]['@_stop-color'], stops[32]['@_offset']]).toEqual(['#0000ff', '#ff0000', '0.5020']);
    expect(stops[32]['@_stop-color']).toBe('#fffdfd'); // entry 128: a hair to the red of white, 255 - 255/127 = 253
    const texts = (doc.text as (string | number | { '#text': string })[]).map((t) => String(typeof t === 'object' ? t['#text'] : t));
    expect(texts.slice(0, 3)).toEqual(['\u2212clip', '0', '+clip']);
    expect(texts[3]).toMatch(/^bwr, attribution summed over channels/);
    // two legends on one page get different gradient ids
    expect(legendSvg(heatmapLegend('jet')).match(/id="([^"]+)"/)![1]).not.toBe(doc.defs.linearGradient['@_id']);
  });

  test('a legend strip under a written PNG: the picture unchanged above it, the bar pixels exact, text below the bar', async () => {
    const w = 300;
    const h = 20;
    const picture = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) % 256);
    const legend = heatmapLegend('turbo');
    const png = await encodeImage(picture, w, h, 'png', 90, legend);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const L = stripLayout(w);
    expect([info.width, info.height, info.channels]).toEqual([w, h + L.height, 3]);
    expect(Buffer.compare(data.subarray(0, w * h * 3), Buffer.from(picture))).toBe(0);
    const bar = legendBar(colormapLut('turbo'), L.bar.width, L.bar.height);
    for (let y = 0; y < L.bar.height; y++) {
      const row = data.subarray(((h + L.bar.top + y) * w + L.bar.left) * 3, ((h + L.bar.top + y) * w + L.bar.left + L.bar.width) * 3);
      expect(Buffer.compare(row, Buffer.from(bar.subarray(y * L.bar.width * 3, (y + 1) * L.bar.width * 3)))).toBe(0);
    }
    // the bar's ends are turbo's ends (48, 18, 59) and (122, 4, 3); white margins beside it
    const at = (x: number, y: number) => Array.from(data.subarray(((h + y) * w + x) * 3, ((h + y) * w + x) * 3 + 3));
    expect([at(L.bar.left, L.bar.top), at(L.bar.left + L.bar.width - 1, L.bar.top), at(0, L.bar.top)]).toEqual([[48, 18, 59], [122, 4, 3], [255, 255, 255]]);
    // the labels were drawn (dark pixels in the text rows), the rows above the bar are white
    const textRows = data.subarray((h + L.bar.top + L.bar.height) * w * 3, (h + L.height) * w * 3);
    expect(textRows.some((v) => v < 100)).toBe(true);
    expect(data.subarray(h * w * 3, (h + L.bar.top) * w * 3).every((v) => v === 255)).toBe(true);
    // the strip's pixels apart from the text are legendStrip's
    expect(legendStrip(legend, w).height).toBe(L.height);
  });
});
