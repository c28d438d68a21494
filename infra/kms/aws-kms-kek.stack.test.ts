import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateX25519KeyPair } from '../../domain/data/envelope/sealed-box.js';
import { startLocalKms } from '../local/local-kms.js';
import { freePort } from '../local/ports.js';
import { AWS_KMS_KEK_ID, AwsKmsKek } from './aws-kms-kek.js';
import { KekUnavailableError, canUnwrap } from './kek.js';

/**
 * The AWS KMS KEK against local-kms (the KMS API over local files, built from its Go module like the
 * Temporal CLI): the same SDK calls production makes. IAM (the API's role without kms:Decrypt) is
 * not emulated; docs/private-datanets.md gives the policies.
 */
describe('the AWS KMS KEK', () => {
  let kms: Awaited<ReturnType<typeof startLocalKms>>;
  let client: KMSClient;
  let dir: string;
  const keys: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'local-kms-'));
    kms = await startLocalKms({ dataDir: dir, port: await freePort() });
    client = new KMSClient({
      region: kms.region,
      endpoint: kms.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    for (let i = 0; i < 2; i++) keys.push((await client.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!);
  }, 300_000);

  afterAll(async () => {
    client?.destroy();
    await kms?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wraps a Datanet private key with Encrypt and unwraps it with Decrypt, bound to its Datanet', async () => {
    const kek = new AwsKmsKek(client, keys[0]!);
    const secret = generateX25519KeyPair().privateKey;
    const w = await kek.wrap(secret, 'dn-1');
    expect(w).toMatchObject({ kekId: AWS_KMS_KEK_ID, kekVersion: keys[0] });
    expect(w.blob.includes(secret)).toBe(false);
    expect((await kek.unwrap(w, 'dn-1')).equals(secret)).toBe(true);
    await expect(kek.unwrap(w, 'dn-2')).rejects.toThrow(KekUnavailableError);
  });

  it("the API's half wraps and has no unwrap", async () => {
    const api = new AwsKmsKek(client, keys[0]!).wrapOnly();
    expect(canUnwrap(api)).toBe(false);
    const w = await api.wrap(Buffer.alloc(32, 1), 'dn-1');
    expect((await new AwsKmsKek(client, keys[0]!).unwrap(w, 'dn-1')).equals(Buffer.alloc(32, 1))).toBe(true);
  });

  it('rotates to another KMS key: rewrapped under the new one, the old key disabled opens nothing', async () => {
    const secret = generateX25519KeyPair().privateKey;
    const old = await new AwsKmsKek(client, keys[0]!).wrap(secret, 'dn-3');
    const next = new AwsKmsKek(client, keys[1]!);
    // What rewrapDatanetKeys does per Datanet: Decrypt under the key that wrapped it, Encrypt under the current one.
    const rewrapped = await next.wrap(await next.unwrap(old, 'dn-3'), 'dn-3');
    expect(rewrapped.kekVersion).toBe(keys[1]);
    await client.send(new DisableKeyCommand({ KeyId: keys[0]! }));
    await expect(next.unwrap(old, 'dn-3')).rejects.toThrow(KekUnavailableError);
    expect((await next.unwrap(rewrapped, 'dn-3')).equals(secret)).toBe(true);
  });
});
