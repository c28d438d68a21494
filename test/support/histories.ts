import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * Reads a history file in the Temporal CLI's JSON (`temporal workflow show --output json`, what
 * test/histories/record.ts writes). This is what historyFromJSON in @temporalio/common does, with
 * the proto3-JSON reader taken from the protobufjs copy @temporalio/proto itself uses: with this
 * lockfile, @temporalio/common and @temporalio/proto each get their own copy of protobufjs 8, and
 * historyFromJSON then fails with "type must be a Type".
 */
const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const { fromJson } = requireFromProto('protobufjs/ext/protojson') as {
  fromJson(this: void, type: unknown, json: unknown, opts: { ignoreUnknownFields: boolean }): History | null;
};
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

export function readHistoryFile(path: string): History {
  const history = fromJson(historyType, JSON.parse(readFileSync(path, 'utf8')), { ignoreUnknownFields: true });
  if (!history?.events?.length) throw new Error(`${path}: not a workflow history`);
  return history;
}
