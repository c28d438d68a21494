/** Splits an integer amount by weights; remainders go to the largest fractional parts, ties by key. */
export function splitByWeight(
  total: bigint,
  items: { key: string; weight: number }[],
): { key: string; weight: number; amount: bigint }[] {
  // Integer weights make the floors sum to at most `total`, so the remainder is never negative.
  // A negative, NaN or infinite weight takes nothing.
  const scaled = (w: number) => (Number.isFinite(w * 1e9) && w > 0 ? BigInt(Math.round(w * 1e9)) : 0n);
  const ints = items.map((i) => ({ ...i, w: scaled(i.weight) }));
  const sum = ints.reduce((s, i) => s + i.w, 0n);
  if (sum === 0n) return [];
  const exact = ints.map((i) => ({
    key: i.key,
    weight: i.weight,
    amount: (total * i.w) / sum,
    rem: (total * i.w) % sum,
  }));
  let left = total - exact.reduce((s, e) => s + e.amount, 0n);
  const order = [...exact].sort((x, y) => (y.rem > x.rem ? 1 : y.rem < x.rem ? -1 : x.key.localeCompare(y.key)));
  for (const e of order) {
    if (left === 0n) break;
    e.amount += 1n;
    left--;
  }
  return exact.map(({ key, weight, amount }) => ({ key, weight, amount }));
}
