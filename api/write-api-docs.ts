import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './openapi-document.js';
import { renderOpenApiMarkdown } from './openapi-markdown.js';

/** `npm run docs:api`: writes docs/api.md from the OpenAPI document; `--check` only compares. */
const target = fileURLToPath(new URL('../docs/api.md', import.meta.url));
const text = renderOpenApiMarkdown(await buildOpenApiDocument());

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('docs/api.md is not what the OpenAPI document gives: run `npm run docs:api`');
    process.exit(1);
  }
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
