// One-shot for the compose stack: create the artifact bucket on the S3-compatible server once it
// answers. Reads the same environment as the API and workers (infra/config.ts).
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../config.js';
import { createS3Client } from '../../storage/s3-store.js';

const { s3 } = loadConfig();
const client = createS3Client(s3);

for (let attempt = 1; ; attempt++) {
  try {
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
    console.log(`bucket ${s3.bucket} exists`);
    break;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) {
      await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
      console.log(`bucket ${s3.bucket} created`);
      break;
    }
    // Anything else (connection refused while the server starts, 5xx) is retried for ~2 minutes.
    if (attempt >= 60) throw err;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
client.destroy();
