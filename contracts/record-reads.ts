/**
 * The sealed read of an encrypted record (a curator's or member's read): what the API, the data
 * worker and the reader's client agree on.
 */

/** The sealed box's context (its additional data): a box made for one record opens for no other. */
export const sealedReadContext = (datanetId: string, hash: string) => `commons-record-read:${datanetId}:${hash}`;

/** How long the API waits for the worker's answer before giving up on a read. */
export const RECORD_READ_TIMEOUT_MS = 60_000;
