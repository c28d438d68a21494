import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

const Address = Type.String({ pattern: '^cm[0-9a-f]{40}$' });
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the canonical JSON payload' });

export const RecordParams = Type.Object({ id: Type.String(), hash: Hash });
export const AccountParams = Type.Object({ address: Address });

export const SealedReadBody = Type.Object(
  {
    readerPublicKey: Type.String({
      pattern: '^[A-Za-z0-9+/]{43}=$',
      description: 'an ephemeral X25519 public key (32 bytes, base64) the record is sealed to',
    }),
  },
  { additionalProperties: false },
);

export const SealedReadResponse = Type.Object({
  datanetId: Type.String(),
  hash: Type.String(),
  purpose: Type.String({
    description: 'why the record was opened, as the access log says: curator-view or member-view',
  }),
  sealed: Type.String({
    description:
      "the record's canonical JSON sealed to readerPublicKey for the context reader\\0<datanet id>\\0<hash> (docs/private-datanets.md: ephemeral X25519, HKDF-SHA256, AES-256-GCM), base64",
  }),
});
export type SealedReadResponse = Static<typeof SealedReadResponse>;

export const AccessLogQuery = pageQuery({});
export const AccessLogResponse = Type.Object({
  entries: Type.Array(
    Type.Object({
      datanetId: Type.String(),
      recordHash: Type.String(),
      contributor: Type.String(),
      actor: Type.String({
        description: 'a worker (worker:<task queue>) or the address of the curator or member who read',
      }),
      purpose: Type.String(),
      at: Timestamp,
    }),
  ),
  ...nextCursorField,
});
export type AccessLogResponse = Static<typeof AccessLogResponse>;
