// Declaration files for a package entry that stand alone: tsc's declaration emit for our modules,
// except that a module defining TypeBox schemas keeps only its types, each written out as the plain
// type the schema stands for. An app then needs neither TypeBox nor anything else of the server.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { format } from 'prettier';

const TYPEBOX_IMPORT = /from ['"]@sinclair\/typebox['"]/;

/**
 * Writes the declarations reachable from `entry` (a .ts file of this repo) under `outDir`, keeping
 * the repo's folder layout, and returns the entry's declaration file relative to `outDir`.
 */
export async function writeDeclarations(repoRoot: string, entry: string, outDir: string): Promise<string> {
  const program = ts.createProgram([resolve(repoRoot, entry)], {
    ...compilerOptions(repoRoot),
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: repoRoot,
    outDir: '/declarations',
  });
  const emitted = new Map<string, string>();
  const result = program.emit(undefined, (file, text) => emitted.set(relative('/declarations', file), text));
  failOn([...ts.getPreEmitDiagnostics(program), ...result.diagnostics], 'declaration emit');

  const checker = program.getTypeChecker();
  for (const source of program.getSourceFiles()) {
    const rel = relative(repoRoot, source.fileName);
    const dts = rel.replace(/\.ts$/, '.d.ts');
    const text = emitted.get(dts);
    if (text !== undefined && TYPEBOX_IMPORT.test(text)) emitted.set(dts, plainTypes(text, source, checker, repoRoot));
  }

  const entryDts = entry.replace(/\.ts$/, '.d.ts');
  for (const file of reachable(entryDts, emitted)) {
    const path = join(outDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await format(emitted.get(file) ?? '', { parser: 'typescript', printWidth: 120 }));
  }
  checkStandsAlone(repoRoot, join(outDir, entryDts));
  return entryDts;
}

function compilerOptions(repoRoot: string): ts.CompilerOptions {
  const path = join(repoRoot, 'tsconfig.json');
  const { config } = ts.readConfigFile(path, (p) => ts.sys.readFile(p)) as { config: unknown };
  return ts.parseJsonConfigFileContent(config, ts.sys, repoRoot, undefined, path).options;
}

/**
 * The declarations of a schema module as plain types: each exported type alias written out in full
 * (`Static<typeof X>` becomes the object type it evaluates to), and every named type of ours those
 * mention (a role union, an interface of another module) declared locally the same way, so the file
 * imports nothing. TypeBox values, and generic aliases (helpers over schemas), are dropped.
 */
function plainTypes(dts: string, source: ts.SourceFile, checker: ts.TypeChecker, repoRoot: string): string {
  const emittedFile = ts.createSourceFile('x.d.ts', dts, ts.ScriptTarget.Latest, true);
  const comments = new Map<string, string>();
  for (const stmt of emittedFile.statements)
    if (ts.isTypeAliasDeclaration(stmt)) comments.set(stmt.name.text, leadingComment(stmt, dts));

  const printer = new TypePrinter(checker, repoRoot);
  const aliases = source.statements.filter(
    (stmt): stmt is ts.TypeAliasDeclaration =>
      ts.isTypeAliasDeclaration(stmt) && !stmt.typeParameters && exportedNode(stmt),
  );
  // Every exported name first: a type printed earlier may mention one declared further down.
  for (const alias of aliases) {
    const symbol = checker.getSymbolAtLocation(alias.name);
    if (symbol) printer.defined.set(alias.name.text, symbol);
  }
  const exported = aliases.map((alias) => {
    const text = printer.print(checker.getTypeAtLocation(alias.name), checker.getSymbolAtLocation(alias.name));
    return `${comments.get(alias.name.text) ?? ''}export type ${alias.name.text} = ${text};`;
  });
  return [...printer.locals(), ...exported, 'export {};', ''].join('\n');
}

function exportedNode(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;
}

/**
 * Prints types in full. A named type of ours that the checker prints by name (an alias it kept, an
 * interface) becomes a local declaration, printed the same way; names from TypeScript's and Node's
 * libraries stay as they are.
 */
class TypePrinter {
  /** Names this file declares, with the symbol each stands for. */
  readonly defined = new Map<string, ts.Symbol>();
  private readonly pending: ts.Symbol[] = [];
  private readonly declarations: string[] = [];
  private readonly flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias;

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly repoRoot: string,
  ) {}

  print(type: ts.Type, self?: ts.Symbol): string {
    this.collect(type, new Set(), self);
    const text = this.checker.typeToString(type, undefined, this.flags);
    if (text.includes('import(')) throw new Error(`cannot print ${text} without an import`);
    return text;
  }

  locals(): string[] {
    for (let s = this.pending.shift(); s; s = this.pending.shift()) {
      const type = this.checker.getDeclaredTypeOfSymbol(s);
      const body = s.flags & ts.SymbolFlags.TypeAlias ? this.print(type, s) : this.members(type);
      this.declarations.push(`type ${s.name} = ${body};`);
    }
    return this.declarations;
  }

  /** An interface's members as an object type: properties (readonly, optional) and index signatures. */
  private members(type: ts.Type): string {
    const members = this.checker.getPropertiesOfType(type).map((p) => {
      const decl = p.declarations?.[0];
      const readonly = decl && ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
      const key = /^[A-Za-z_$][\w$]*$/.test(p.name) ? p.name : JSON.stringify(p.name);
      const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
      return `${readonly}${key}${optional}: ${this.print(this.checker.getTypeOfSymbol(p))};`;
    });
    for (const info of this.checker.getIndexInfosOfType(type))
      members.push(
        `${info.isReadonly ? 'readonly ' : ''}[key: ${this.print(info.keyType)}]: ${this.print(info.type)};`,
      );
    return `{ ${members.join(' ')} }`;
  }

  private ours(symbol: ts.Symbol | undefined): symbol is ts.Symbol {
    const file = symbol?.declarations?.[0]?.getSourceFile().fileName;
    return !!file && file.startsWith(this.repoRoot + '/') && !file.includes('/node_modules/');
  }

  private name(symbol: ts.Symbol): void {
    const known = this.defined.get(symbol.name);
    if (known === symbol) return;
    if (known) throw new Error(`two types named ${symbol.name} in one schema module's declarations`);
    this.defined.set(symbol.name, symbol);
    this.pending.push(symbol);
  }

  /** Finds the named types of ours that printing `type` would mention. */
  private collect(type: ts.Type, seen: Set<ts.Type>, self?: ts.Symbol): void {
    if (seen.has(type)) return;
    seen.add(type);
    const alias = type.aliasSymbol;
    if (alias && alias !== self && this.ours(alias)) return this.name(alias);
    // A library alias (Record<FeePart, Range>) prints its arguments by name.
    for (const t of type.aliasTypeArguments ?? []) this.collect(t, seen);
    const symbol = type.getSymbol();
    if (
      symbol &&
      symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class) &&
      this.ours(symbol) &&
      symbol !== self
    )
      return this.name(symbol);
    if (type.isUnionOrIntersection()) {
      // The checker prints a union as written (`Outcome | undefined`), kept in its origin.
      const origin = (type as ts.UnionType & { origin?: ts.Type }).origin;
      return (origin ? [origin] : type.types).forEach((t) => this.collect(t, seen));
    }
    if (!(type.flags & ts.TypeFlags.Object)) return;
    if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)
      this.checker.getTypeArguments(type as ts.TypeReference).forEach((t) => this.collect(t, seen));
    for (const p of this.checker.getPropertiesOfType(type)) this.collect(this.checker.getTypeOfSymbol(p), seen);
    for (const info of this.checker.getIndexInfosOfType(type)) this.collect(info.type, seen);
  }
}

function leadingComment(node: ts.Node, text: string): string {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return ranges.map((r) => text.slice(r.pos, r.end) + '\n').join('');
}

/** The declaration files `entry` imports, directly or not (relative specifiers only). */
function reachable(entry: string, files: Map<string, string>): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = files.get(file);
    if (text === undefined) throw new Error(`no declarations emitted for ${file}`);
    seen.add(file);
    for (const [, specifier = ''] of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      else if (!specifier.startsWith('node:'))
        throw new Error(
          `${file} imports ${specifier}: a package carries no other package's types (a method whose inferred return type names a server module needs an explicit one)`,
        );
    }
  };
  visit(entry);
  return [...seen].sort();
}

/** The written declarations type-check on their own: no repo file, no package but Node's types. */
function checkStandsAlone(repoRoot: string, entry: string): void {
  const program = ts.createProgram([entry], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    typeRoots: [join(repoRoot, 'node_modules/@types')],
  });
  failOn(ts.getPreEmitDiagnostics(program), `declarations under ${dirname(entry)}`);
  for (const file of program.getSourceFiles())
    if (!file.fileName.includes('/node_modules/') && !file.fileName.startsWith(dirname(dirname(entry))))
      throw new Error(`${entry} reaches ${file.fileName}, outside the package`);
}

function failOn(diagnostics: readonly ts.Diagnostic[], what: string): void {
  if (!diagnostics.length) return;
  const host = {
    getCanonicalFileName: (f: string) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => '\n',
  };
  throw new Error(`${what} failed:\n${ts.formatDiagnostics(diagnostics, host)}`);
}
