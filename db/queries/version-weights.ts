import type postgres from 'postgres';

/**
 * The contributors of the dataset version a model version was trained on, by their attribution
 * weight: what an answer drawn from the whole training set (an embedding) is attributed to.
 */
export async function findVersionContributorWeights(
  sql: postgres.Sql,
  modelName: string,
  version: number,
): Promise<{ contributor: string; weight: number }[]> {
  const rows = await sql<{ contributor: string; weight: number }[]>`
    select w.contributor, w.weight from model_versions v
    join attribution_weights w on w.dataset_version_id = v.dataset_version_id
    where v.model_name = ${modelName} and v.version = ${version} and w.weight > 0
    order by w.weight desc, w.contributor`;
  return rows.map((r) => ({ contributor: r.contributor, weight: Number(r.weight) }));
}
