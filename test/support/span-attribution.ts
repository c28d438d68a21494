/** The API's /metrics line saying how a served model is attributed (mode and records). */
export async function spanModeLine(url: string, modelName: string): Promise<string | undefined> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return metrics
    .split('\n')
    .find((l) => l.startsWith('commons_attribution_records{') && l.includes(`model="${modelName}"`));
}
