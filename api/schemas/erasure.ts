import { Type, type Static } from '@sinclair/typebox';
import { IdParams } from './common.js';
import { HashParams } from './datanets.js';
import { VersionView } from './curation.js';

export const ErasureParams = Type.Object({ ...IdParams.properties, ...HashParams.properties });

export const ErasureResponse = Type.Object({
  datanetId: Type.String(),
  hash: Type.String(),
  result: Type.Union([Type.Literal('erased'), Type.Literal('already-erased')], {
    description: 'already-erased: an earlier request erased it; this one changed nothing',
  }),
  version: Type.Union([VersionView, Type.Null()], {
    description:
      'the dataset version without the record that this erasure made (null before the first build, when the record was in no version, or when already erased)',
  }),
});
export type ErasureResponse = Static<typeof ErasureResponse>;
