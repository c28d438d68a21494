/**
 * ApplicationFailure types that activities throw and workflows name in `nonRetryableErrorTypes`:
 * errors that no retry can cure, so the lifecycle compensates at once instead of retrying.
 */
export const ERROR_TYPES = {
  /** The proposal names a trainer no worker on the queue offers. */
  unknownTrainer: 'UnknownTrainer',
  /** A ledger transfer would make a balance negative. */
  insufficientFunds: 'InsufficientFundsError',
  /** An immutable object (a promoted artifact) already exists. */
  objectExists: 'ObjectExistsError',
  /** Bytes under an immutable prefix differ from what should be there. */
  integrity: 'IntegrityError',
  /** The model entity refuses a version (retired model, unknown version). */
  modelRefused: 'ModelRefused',
  /** A step would show an encrypted Datanet's records outside the workers (a review item). */
  privateRecords: 'PrivateRecords',
  /** A sealed read the worker refuses: the reader may not read the record (the API checked it first). */
  readRefused: 'RecordReadRefused',
  /** A sealed read of a record whose data key was destroyed (erased), or that is not stored. */
  recordGone: 'RecordGone',
  /** A stored ciphertext that fails its tag or whose plaintext does not hash to the record's hash. */
  recordUnreadable: 'RecordUnreadable',
} as const;

export const LEDGER_NON_RETRYABLE = [ERROR_TYPES.insufficientFunds, ERROR_TYPES.objectExists, ERROR_TYPES.integrity];
export const TRAINING_NON_RETRYABLE = [ERROR_TYPES.unknownTrainer];
export const RECORD_READ_NON_RETRYABLE = [
  ERROR_TYPES.readRefused,
  ERROR_TYPES.recordGone,
  ERROR_TYPES.recordUnreadable,
];
