/** Edit distance, for "did you mean" suggestions on unknown names. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** Up to `n` names closest to `name`, nearest first, only those reasonably close. */
export function closestNames(name: string, names: string[], n = 3): string[] {
  const lower = name.toLowerCase();
  return names
    .map((c) => ({ c, d: levenshtein(lower, c.toLowerCase()) - (c.toLowerCase().includes(lower) ? 2 : 0) }))
    .filter((x) => x.d <= Math.max(3, Math.floor(name.length / 2)))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((x) => x.c);
}
