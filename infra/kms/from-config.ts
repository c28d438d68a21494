import type { KekConfig } from '../config.js';
import { AwsKmsKek } from './aws-kms-kek.js';
import { KekUnavailableError, type Kek, type KeyWrapper } from './kek.js';
import { checkLocalKekFile, localKek, localKeyWrapper } from './local-kek.js';

/**
 * The full KEK (wrap and unwrap) from configuration: the data-collection and training workers'.
 * Undefined when the configuration gives this process no unwrap capability (no KEK, or only the
 * local public file): it then opens nothing.
 */
export function kekOf(cfg: KekConfig | undefined): Kek | undefined {
  if (!cfg) return undefined;
  if (cfg.kind === 'aws-kms') return AwsKmsKek.fromConfig(cfg);
  if (!cfg.keyFile) return undefined;
  checkLocalKekFile(cfg.keyFile);
  return localKek(cfg.keyFile);
}

/** `kek`, or an error saying this process cannot open encrypted records. */
export function requireKek(kek: Kek | undefined): Kek {
  if (!kek)
    throw new KekUnavailableError(
      'this process holds no KEK unwrap capability (COMMONS_KEK_FILE, or COMMONS_KEK=aws-kms with kms:Decrypt): it cannot open encrypted Datanets',
    );
  return kek;
}

/** The wrap-only KEK from configuration: the API's. It has no unwrap, whatever the configuration holds. */
export function keyWrapperOf(cfg: KekConfig | undefined): KeyWrapper | undefined {
  if (!cfg) return undefined;
  if (cfg.kind === 'aws-kms') return AwsKmsKek.fromConfig(cfg).wrapOnly();
  const file = cfg.publicFile ?? cfg.keyFile;
  return file ? localKeyWrapper(file) : undefined;
}
