/**
 * Why a record of an encrypted Datanet was decrypted: the purpose each decryption writes to the
 * access log (record_access_log) and that contributors read back. Workers and the API agree on
 * these names.
 */
export const ACCESS_PURPOSES = [
  /** The scoring pass: schema, quality, relevance, near-duplicate sketch. */
  'scoring',
  /** Near-duplicate confirmation between two records. */
  'near-duplicates',
  /** Writing the record into a dataset version's part files or manifest. */
  'dataset-version',
  /** A trainer reading the dataset version. */
  'training',
  /** Building a serving artifact (an index of feature vectors and hashes). */
  'serving-index',
  /** A curator reading the record through the logged curator view. */
  'curator-view',
  /** A member (contributor or curator of a members Datanet) reading it through the sealed read. */
  'member-view',
] as const;
export type AccessPurpose = (typeof ACCESS_PURPOSES)[number];

/** The actor a worker writes for its own decryptions: `worker:<task queue>`. */
export const workerActor = (taskQueue: string) => `worker:${taskQueue}`;
