/**
 * Suffix array construction by induced sorting (SA-IS, Nong, Zhang & Chan 2009), linear in the
 * text length; a port of the AtCoder Library's `sa_is`. The text is an Int32Array of symbols in
 * [0, upper]; no sentinel is needed. Span indexes over millions of tokens are built with it.
 */

/** Suffixes of a short text sorted by direct comparison (the recursion's base case). */
function naive(s: Int32Array): Int32Array {
  const n = s.length;
  const sa = Array.from({ length: n }, (_, i) => i);
  sa.sort((a, b) => {
    if (a === b) return 0;
    while (a < n && b < n) {
      if (s[a] !== s[b]) return s[a]! - s[b]!;
      a++;
      b++;
    }
    return a === n ? -1 : 1;
  });
  return Int32Array.from(sa);
}

const THRESHOLD_NAIVE = 10;

/** The suffix array of `s` (symbols in [0, upper]). */
export function suffixArray(s: Int32Array, upper: number): Int32Array {
  const n = s.length;
  if (n === 0) return new Int32Array(0);
  if (n === 1) return Int32Array.of(0);
  if (n < THRESHOLD_NAIVE) return naive(s);

  const sa = new Int32Array(n);
  // ls[i]: suffix i is S-type (smaller than suffix i+1).
  const ls = new Uint8Array(n);
  for (let i = n - 2; i >= 0; i--) ls[i] = s[i] === s[i + 1] ? ls[i + 1]! : s[i]! < s[i + 1]! ? 1 : 0;
  const sumL = new Int32Array(upper + 2);
  const sumS = new Int32Array(upper + 2);
  for (let i = 0; i < n; i++) {
    if (!ls[i]) sumS[s[i]!]!++;
    else sumL[s[i]! + 1]!++;
  }
  for (let i = 0; i <= upper; i++) {
    sumS[i]! += sumL[i]!;
    if (i < upper) sumL[i + 1]! += sumS[i]!;
  }
  const buf = new Int32Array(upper + 2);

  const induce = (lms: Int32Array) => {
    sa.fill(-1);
    buf.set(sumS);
    for (let j = 0; j < lms.length; j++) {
      const d = lms[j]!;
      if (d === n) continue;
      sa[buf[s[d]!]!++] = d;
    }
    buf.set(sumL);
    sa[buf[s[n - 1]!]!++] = n - 1;
    for (let i = 0; i < n; i++) {
      const v = sa[i]!;
      if (v >= 1 && !ls[v - 1]) sa[buf[s[v - 1]!]!++] = v - 1;
    }
    buf.set(sumL);
    for (let i = n - 1; i >= 0; i--) {
      const v = sa[i]!;
      if (v >= 1 && ls[v - 1]) sa[--buf[s[v - 1]! + 1]!] = v - 1;
    }
  };

  const lmsMap = new Int32Array(n + 1).fill(-1);
  let m = 0;
  for (let i = 1; i < n; i++) if (!ls[i - 1] && ls[i]) lmsMap[i] = m++;
  const lms = new Int32Array(m);
  for (let i = 1, k = 0; i < n; i++) if (!ls[i - 1] && ls[i]) lms[k++] = i;

  induce(lms);

  if (m) {
    const sortedLms = new Int32Array(m);
    for (let i = 0, k = 0; i < n; i++) {
      const v = sa[i]!;
      if (lmsMap[v] !== -1) sortedLms[k++] = v;
    }
    const recS = new Int32Array(m);
    let recUpper = 0;
    recS[lmsMap[sortedLms[0]!]!] = 0;
    for (let i = 1; i < m; i++) {
      let l = sortedLms[i - 1]!;
      let r = sortedLms[i]!;
      const endL = lmsMap[l]! + 1 < m ? lms[lmsMap[l]! + 1]! : n;
      const endR = lmsMap[r]! + 1 < m ? lms[lmsMap[r]! + 1]! : n;
      let same = true;
      if (endL - l !== endR - r) same = false;
      else {
        while (l < endL) {
          if (s[l] !== s[r]) break;
          l++;
          r++;
        }
        if (l === n || s[l] !== s[r]) same = false;
      }
      if (!same) recUpper++;
      recS[lmsMap[sortedLms[i]!]!] = recUpper;
    }
    const recSa = suffixArray(recS, recUpper);
    for (let i = 0; i < m; i++) sortedLms[i] = lms[recSa[i]!]!;
    induce(sortedLms);
  }
  return sa;
}
