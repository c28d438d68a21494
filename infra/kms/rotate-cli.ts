// `npm run kek:rotate -- [--retire]`: rotates the key-encryption key of encrypted Datanets
// (docs/private-datanets.md "Keys"). Run it with a worker's configuration (it unwraps).
//
//   local KEK (COMMONS_KEK_FILE and COMMONS_KEK_PUBLIC_FILE): adds a version to the key file, rewrites
//     the public file, and rewraps every Datanet private key under the new version; --retire then
//     drops the old versions from the key file (restart the workers and the API so they load the new files).
//   AWS KMS: set COMMONS_KMS_KEY_ID to the new key (the workers' role may decrypt under old and new),
//     then run this: it rewraps every Datanet key not under the new one. Afterwards revoke the old key.
// No record is re-encrypted: records' data keys are sealed to the Datanets' key pairs, which stay.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { connectDb } from '../../db/client.js';
import { kekOf, requireKek } from './from-config.js';
import { retireLocalKekVersions, rotateLocalKekFile } from './local-kek.js';
import { rewrapDatanetKeys } from './rewrap.js';

const { values } = parseArgs({ options: { retire: { type: 'boolean', default: false } } });
const cfg = loadConfig();
if (!cfg.kek) {
  console.error('no KEK is configured (COMMONS_KEK, COMMONS_KEK_FILE or COMMONS_KMS_KEY_ID)');
  process.exit(2);
}
if (cfg.kek.kind === 'local') {
  if (!cfg.kek.keyFile || !cfg.kek.publicFile) {
    console.error('a local rotation needs COMMONS_KEK_FILE and COMMONS_KEK_PUBLIC_FILE');
    process.exit(2);
  }
  const next = rotateLocalKekFile(cfg.kek.keyFile, cfg.kek.publicFile);
  console.log(`KEK ${next.kekId}: version ${next.kekVersion} is current`);
}
const db = connectDb(cfg.databaseUrl, { max: 2 });
try {
  const { rewrapped } = await rewrapDatanetKeys(db.sql, requireKek(kekOf(cfg.kek)));
  console.log(`rewrapped ${rewrapped} Datanet key(s); no record was re-encrypted`);
  if (values.retire && cfg.kek.kind === 'local' && cfg.kek.keyFile)
    console.log(`retired version(s) ${retireLocalKekVersions(cfg.kek.keyFile).join(', ') || '(none)'}`);
} finally {
  await db.close();
}
