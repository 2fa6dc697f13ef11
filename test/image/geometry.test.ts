import { contentBox, placement, RESIZE_MODES, sourceBox, toModel, toSource, type ResizeMode } from '../../src/image/geometry';

const close = (a: number, b: number, eps = 1e-9) => expect(Math.abs(a - b)).toBeLessThan(eps);

test('stretch: independent scales, no offset', () => {
  const p = placement(400, 300, 224, 224, 'stretch');
  expect(p).toEqual({ mode: 'stretch', srcWidth: 400, srcHeight: 300, dstWidth: 224, dstHeight: 224, scaleX: 0.56, scaleY: 224 / 300, offsetX: 0, offsetY: 0 });
  const br = toSource(p, 224, 224);
  close(br.x, 400);
  close(br.y, 300);
});

test('crop: centre crop of a landscape image, corners and centre', () => {
  const p = placement(400, 300, 224, 224, 'crop');
  // The 300x300 centre square (x 50..350) fills the input.
  close(p.scaleX, 224 / 300);
  close(p.scaleY, 224 / 300);
  close(p.offsetX, (-50 * 224) / 300);
  expect(p.offsetY).toBeCloseTo(0, 12);
  const tl = toSource(p, 0, 0);
  const br = toSource(p, 224, 224);
  const c = toSource(p, 112, 112);
  close(tl.x, 50);
  close(tl.y, 0);
  close(br.x, 350);
  close(br.y, 300);
  close(c.x, 200);
  close(c.y, 150);
  expect(sourceBox(p)).toEqual({ left: 50, top: 0, width: 300, height: 300 });
  expect(contentBox(p)).toEqual({ left: 0, top: 0, width: 224, height: 224 });
});

test('crop: portrait image into a landscape input crops top and bottom', () => {
  const p = placement(300, 500, 160, 120, 'crop');
  // aspect 4:3 -> crop 300x225, top = floor(275 / 2) = 137
  expect(sourceBox(p)).toEqual({ left: 0, top: 137, width: 300, height: 225 });
  close(p.scaleX, 160 / 300);
  close(p.scaleY, 120 / 225);
  close(toSource(p, 0, 0).y, 137);
  close(toSource(p, 160, 120).y, 362);
});

test('pad: letterbox with bars top and bottom', () => {
  const p = placement(400, 300, 224, 224, 'pad');
  // scale 0.56 -> content 224x168 at y = 28
  close(p.scaleX, 0.56);
  close(p.scaleY, 0.56);
  expect([p.offsetX, p.offsetY]).toEqual([0, 28]);
  expect(contentBox(p)).toEqual({ left: 0, top: 28, width: 224, height: 168 });
  expect(sourceBox(p)).toEqual({ left: 0, top: 0, width: 400, height: 300 });
  const a = toSource(p, 0, 28);
  const b = toSource(p, 224, 196);
  close(a.x, 0);
  close(a.y, 0);
  close(b.x, 400);
  close(b.y, 300);
  // A model pixel in the top bar maps above the image.
  expect(toSource(p, 10.5, 10.5).y).toBeLessThan(0);
});

test('pad: odd sizes put the extra bar pixel at the right/bottom', () => {
  const p = placement(100, 37, 64, 48, 'pad');
  // s = min(0.64, 1.297) = 0.64 -> 64 x round(23.68) = 24, top = floor(24 / 2) = 12
  expect(contentBox(p)).toEqual({ left: 0, top: 12, width: 64, height: 24 });
  close(p.scaleY, 24 / 37);
});

test('toSource and toModel are inverse in every mode, for awkward sizes too', () => {
  const sizes: [number, number, number, number][] = [
    [400, 300, 224, 224],
    [101, 37, 64, 48],
    [37, 101, 64, 48],
    [1, 1, 28, 28],
    [1600, 1200, 299, 299],
    [224, 224, 224, 224],
  ];
  for (const [sw, sh, dw, dh] of sizes) {
    for (const mode of RESIZE_MODES) {
      const p = placement(sw, sh, dw, dh, mode);
      for (const [x, y] of [[0, 0], [0.5, 0.5], [dw / 3, dh / 7], [dw - 0.5, dh - 0.5], [dw, dh]]) {
        const s = toSource(p, x, y);
        const m = toModel(p, s.x, s.y);
        close(m.x, x, 1e-9 * Math.max(1, dw));
        close(m.y, y, 1e-9 * Math.max(1, dh));
      }
      // Boxes are whole pixels inside their images, centred to within half a pixel (of the source for the crop
      // box, of the input for the content box).
      const sb = sourceBox(p);
      const cb = contentBox(p);
      for (const b of [sb, cb]) for (const v of Object.values(b)) expect(Number.isInteger(v)).toBe(true);
      expect(sb.left + sb.width).toBeLessThanOrEqual(sw);
      expect(sb.top + sb.height).toBeLessThanOrEqual(sh);
      expect(cb.left + cb.width).toBeLessThanOrEqual(dw);
      expect(cb.top + cb.height).toBeLessThanOrEqual(dh);
      expect(Math.abs(sb.left + sb.width / 2 - sw / 2)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(sb.top + sb.height / 2 - sh / 2)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(cb.left + cb.width / 2 - dw / 2)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(cb.top + cb.height / 2 - dh / 2)).toBeLessThanOrEqual(0.5);
      // ...and the placement maps one box exactly onto the other.
      const a = toModel(p, sb.left, sb.top);
      const b = toModel(p, sb.left + sb.width, sb.top + sb.height);
      close(a.x, cb.left, 1e-6);
      close(a.y, cb.top, 1e-6);
      close(b.x, cb.left + cb.width, 1e-6);
      close(b.y, cb.top + cb.height, 1e-6);
      // The crop box keeps the input's aspect ratio to within rounding; pad keeps the image's.
      if (mode === 'crop') expect(Math.abs(sb.width / sb.height - dw / dh)).toBeLessThan(1 / Math.min(sb.width, sb.height) + 1e-9);
      if (mode === 'pad') expect(cb.width === dw || cb.height === dh).toBe(true);
    }
  }
});

test('bad arguments are rejected', () => {
  expect(() => placement(0, 10, 10, 10, 'stretch')).toThrow(RangeError);
  expect(() => placement(10, 10, 10.5, 10, 'crop')).toThrow(/positive integer/);
  expect(() => placement(10, 10, 10, 10, 'fit' as ResizeMode)).toThrow(/unknown resize mode 'fit'/);
});
