// `npm run build:packages [client|cli ...]`: builds the named packages (default both) into packages/build/.
import { buildPackages, PACKAGES, type PackageName } from './build.js';

const names = process.argv.slice(2);
const unknown = names.filter((n) => !PACKAGES.includes(n as PackageName));
if (unknown.length) {
  console.error(`unknown package ${unknown.join(', ')} (known: ${PACKAGES.join(', ')})`);
  process.exitCode = 2;
} else {
  for (const dir of await buildPackages(undefined, names.length ? (names as PackageName[]) : PACKAGES))
    console.log(`built ${dir}`);
}
