/**
 * Lists the functions longer than a limit, longest first: name, file:line and length in lines (from the line of the
 * function's first token to the line of its closing brace). A function without a name of its own (a callback, an
 * arrow function passed as an argument) is named after the function it is written in, `outer > (callback)`; a method
 * as `Class.method`. Nested functions count in their parent's length too.
 *
 * Usage: `node tools/run.js tools/function-lengths.ts [--max 80] [--fail] [paths...]`
 * (default path `packages/core/src/operations`, test files left out). `--fail` exits 1 when one is over the limit.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One function over the limit. */
export interface LongFunction {
  name: string;
  file: string;
  line: number;
  lines: number;
}

/** The functions of one TypeScript source over `max` lines. */
export function longFunctions(file: string, text: string, max: number): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node, outer: string | null) => {
    let name = outer;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      name = functionName(node, outer);
      const first = lineOf(node.getStart(source));
      const lines = lineOf(node.getEnd()) - first + 1;
      if (lines > max) found.push({ name, file, line: first, lines });
    }
    ts.forEachChild(node, (child) => visit(child, name));
  };
  visit(source, null);
  return found;
}

function functionName(node: ts.SignatureDeclaration, outer: string | null): string {
  const own = (n: ts.Node | undefined): string | null =>
    n && (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isPrivateIdentifier(n)) ? n.text : null;
  if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) && node.name) return node.name.text;
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessor(node) ||
    ts.isSetAccessor(node) ||
    ts.isConstructorDeclaration(node)
  ) {
    const cls = node.parent && ts.isClassLike(node.parent) ? (node.parent.name?.text ?? '(class)') : null;
    const method = ts.isConstructorDeclaration(node) ? 'constructor' : (own(node.name) ?? '(method)');
    return cls ? `${cls}.${method}` : outer ? `${outer} > ${method}` : method;
  }
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return own(parent.name) ?? '(function)';
  if (parent && ts.isPropertyAssignment(parent)) {
    const key = own(parent.name) ?? '(property)';
    return outer ? `${outer} > ${key}` : key;
  }
  return outer ? `${outer} > (callback)` : '(callback)';
}

function sourceFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) return sourceFiles(full);
      return entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.d.ts') ? [full] : [];
    });
}

function main(argv: string[]): number {
  let max = 80;
  let fail = false;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--max') max = Number(argv[++i]);
    else if (argv[i] === '--fail') fail = true;
    else paths.push(argv[i]!);
  }
  if (!Number.isInteger(max) || max < 1) {
    process.stderr.write('error: --max takes a whole number of lines, e.g. --max 80\n');
    return 1;
  }
  const found = (paths.length ? paths : ['packages/core/src/operations'])
    .flatMap(sourceFiles)
    .flatMap((file) => longFunctions(relative(process.cwd(), file), readFileSync(file, 'utf8'), max))
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
  for (const f of found) process.stdout.write(`${String(f.lines).padStart(5)}  ${f.name}  ${f.file}:${f.line}\n`);
  process.stdout.write(`${found.length} function${found.length === 1 ? '' : 's'} over ${max} lines\n`);
  return fail && found.length ? 1 : 0;
}

if (process.argv[1] === __filename) process.exitCode = main(process.argv.slice(2));
