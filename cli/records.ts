/** JSON Lines to contribution payloads, with the line number of anything that is not an object. */
export function parseJsonl(text: string): { payloads: Record<string, unknown>[]; errors: string[] } {
  const payloads: Record<string, unknown>[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) errors.push(`line ${i + 1}: not a JSON object`);
      else payloads.push(v as Record<string, unknown>);
    } catch (err) {
      errors.push(`line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return { payloads, errors };
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
