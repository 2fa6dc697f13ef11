/**
 * Deep Feature Factorization's picture, as pytorch-grad-cam's show_factorization_on_image draws it: every concept
 * gets its own hue (evenly spaced around the colour wheel); each pixel shows the concept whose map is strongest there,
 * in that concept's hue at a brightness given by the map's value, blended over the image. Pure pixel arithmetic:
 * the text of the legend is left to an SVG renderer (conceptLegendSvg).
 */

/** The RGB colour (0..255) of hue h in [0, 1) at full saturation and value v in [0, 1]. */
export function hueColour(h: number, v = 1): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [Math.round(255 * f(5)), Math.round(255 * f(3)), Math.round(255 * f(1))];
}

/** Concept j of k: its hue. */
export const conceptHue = (j: number, k: number) => j / k;

/**
 * The concepts over an RGB image (width * height * 3): `maps` are the concepts' maps at the same size, values in
 * [0, 1]; `imageWeight` the image's share of the blend (default 0.4).
 */
export function conceptOverlay(rgb: Uint8Array, width: number, height: number, maps: Float32Array[], imageWeight = 0.4): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const k = maps.length;
  const colours = maps.map((_, j) => hueColour(conceptHue(j, k)));
  for (let p = 0; p < width * height; p++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (maps[j][p] > maps[best][p]) best = j;
    const v = Math.max(0, Math.min(1, maps[best][p]));
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(imageWeight * rgb[p * 3 + c] + (1 - imageWeight) * colours[best][c] * v);
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** The legend beside the picture: per concept a swatch of its hue and its lines of text (its top classes). */
export function conceptLegendSvg(lines: string[][], width: number, height: number, fontSize = 13): string {
  const k = lines.length;
  const rowH = Math.round(fontSize * 1.35);
  let y = fontSize;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];
  lines.forEach((text, j) => {
    const [r, g, b] = hueColour(conceptHue(j, k));
    parts.push(`<rect x="${fontSize / 2}" y="${y}" width="${fontSize}" height="${fontSize}" fill="rgb(${r},${g},${b})"/>`);
    text.forEach((t, i) => {
      parts.push(`<text x="${fontSize * 2}" y="${y + fontSize * 0.85 + i * rowH}" font-family="sans-serif" font-size="${fontSize}" fill="black">${escapeXml(t)}</text>`);
    });
    y += rowH * Math.max(1, text.length) + Math.round(fontSize / 2);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The legend's height for these lines at this font size (as conceptLegendSvg lays them out). */
export function conceptLegendHeight(lines: string[][], fontSize = 13): number {
  const rowH = Math.round(fontSize * 1.35);
  return fontSize + lines.reduce((s, t) => s + rowH * Math.max(1, t.length) + Math.round(fontSize / 2), 0);
}
