/** Finding a class by name in a model's label list, and the names closest to a miss. */

const norm = (s: string): string => s.trim().toLowerCase().replace(/[\s_-]+/g, ' ');

/** Levenshtein distance, one row at a time (labels are short). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

export type ClassLookup = { index: number } | { index: null; closest: string[] };

/**
 * The index of the class called `query` (case, spaces, '_' and '-' ignored); when none is, the
 * `max` closest names: those containing the query (or contained in it) first, then by edit distance
 * to the closest run of words in the name, then to the whole name.
 */
export function findClass(names: readonly string[], query: string, max = 3): ClassLookup {
  const q = norm(query);
  const normed = names.map(norm);
  const exact = normed.indexOf(q);
  if (exact >= 0) return { index: exact };
  const qWords = q.split(' ').length;
  const scored = normed.map((n, i) => {
    const contains = q.length > 0 && (n.includes(q) || q.includes(n));
    // A misspelt word of a longer name ('retreiver') should find it: compare with each run of as many words too.
    const words = n.split(' ');
    let part = editDistance(q, n);
    for (let w = 0; w + qWords <= words.length; w++) part = Math.min(part, editDistance(q, words.slice(w, w + qWords).join(' ')));
    return { name: names[i]!, score: (contains ? 0 : 1000) + 10 * part + editDistance(q, n) / 100 };
  });
  scored.sort((a, b) => a.score - b.score);
  return { index: null, closest: scored.slice(0, max).map((s) => s.name) };
}
