// printable(): names as they may appear inside one console line (src/cli/output.ts).
import { printable } from '../../src/cli/output';

test('control characters are written out; everything else, other scripts included, is left as it is', () => {
  expect(printable('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
  expect(printable('x\x1b[31mred\x1b[0m')).toBe('x\\x1b[31mred\\x1b[0m');
  expect(printable('nul\x00 del\x7f c1\x85 ls\u2028')).toBe('nul\\x00 del\\x7f c1\\x85 ls\\u2028');
  expect(printable('Café 日本 C:\\photos\\a.png')).toBe('Café 日本 C:\\photos\\a.png');
  expect(printable('')).toBe('');
});
