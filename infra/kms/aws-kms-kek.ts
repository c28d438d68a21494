import { DecryptCommand, EncryptCommand, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { KekUnavailableError, type Kek, type KekRef, type KeyWrapper, type WrappedKey } from './kek.js';

/**
 * The KEK in AWS KMS: a symmetric KMS key wraps each Datanet private key (Encrypt, with the Datanet id
 * as encryption context, so a wrapped key moved to another Datanet does not decrypt). Which process
 * may unwrap is IAM's decision: the API's role holds kms:Encrypt only, the workers' kms:Decrypt
 * (docs/private-datanets.md gives the policies). KMS's own automatic rotation needs no rewrap;
 * moving to another KMS key is a rotation here (kekVersion is the configured key).
 */

export const AWS_KMS_KEK_ID = 'aws-kms';

const context = (datanetId: string) => ({ datanet: datanetId });

export class AwsKmsKek implements Kek {
  readonly current: KekRef;
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {
    this.current = { kekId: AWS_KMS_KEK_ID, kekVersion: keyId };
  }

  static fromConfig(c: { keyId: string; region: string; endpoint?: string }): AwsKmsKek {
    return new AwsKmsKek(new KMSClient({ region: c.region, ...(c.endpoint ? { endpoint: c.endpoint } : {}) }), c.keyId);
  }

  async wrap(key: Buffer, datanetId: string): Promise<WrappedKey> {
    const r = await this.client.send(
      new EncryptCommand({ KeyId: this.keyId, Plaintext: key, EncryptionContext: context(datanetId) }),
    );
    if (!r.CiphertextBlob) throw new Error('KMS Encrypt returned no ciphertext');
    return { ...this.current, blob: Buffer.from(r.CiphertextBlob) };
  }

  async unwrap(wrapped: WrappedKey, datanetId: string): Promise<Buffer> {
    if (wrapped.kekId !== AWS_KMS_KEK_ID)
      throw new KekUnavailableError(`key wrapped by KEK ${wrapped.kekId}; this process holds AWS KMS`);
    try {
      const r = await this.client.send(
        new DecryptCommand({
          CiphertextBlob: wrapped.blob,
          KeyId: wrapped.kekVersion,
          EncryptionContext: context(datanetId),
        }),
      );
      if (!r.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
      return Buffer.from(r.Plaintext);
    } catch (err) {
      // Denied, disabled or deleted keys, or a blob that is not this Datanet's: no retry helps.
      if (
        err instanceof KMSServiceException &&
        [
          'AccessDeniedException',
          'InvalidCiphertextException',
          'DisabledException',
          'NotFoundException',
          'KMSInvalidStateException',
          'IncorrectKeyException',
        ].includes(err.name)
      )
        throw new KekUnavailableError(`KMS refused to unwrap the key of Datanet ${datanetId}: ${err.name}`);
      throw err;
    }
  }

  /** The wrap half alone: what the API gets (its IAM role could not decrypt anyway). */
  wrapOnly(): KeyWrapper {
    return { current: this.current, wrap: (key, datanetId) => this.wrap(key, datanetId) };
  }
}
