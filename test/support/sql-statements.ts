import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

/** One SQL statement written in a source file: where, and its text with the constants it interpolates filled in. */
export interface SqlStatement {
  file: string;
  line: number;
  /** The statement, each `${CONST}` of a same-file string constant replaced by its text, any other `${...}` by `?`. */
  sql: string;
}

/** Statement keywords a SQL literal starts with (after whitespace and an opening parenthesis). */
const STATEMENT = /^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

type Literal = ts.StringLiteral | ts.NoSubstitutionTemplateLiteral | ts.TemplateExpression;

function isLiteral(node: ts.Node): node is Literal {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node);
}

/**
 * Every SQL statement a TypeScript file writes as a string or template literal (the first argument of `.query(`, its
 * `text:`, or a constant passed there), found by walking the file's syntax tree rather than by regex, so that quoting
 * and nesting cannot hide one. A constant that other literals interpolate (a column list, a shared SELECT head) is a
 * fragment: it is checked inside each statement that uses it, not alone.
 */
export function sqlStatements(file: string): SqlStatement[] {
  const text = fs.readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const constants = new Map<string, Literal>();
  const literals: Literal[] = [];
  const interpolated = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isLiteral(node.initializer))
      constants.set(node.name.text, node.initializer);
    if (isLiteral(node)) literals.push(node);
    if (ts.isTemplateSpan(node) && ts.isIdentifier(node.expression)) interpolated.add(node.expression.text);
    ts.forEachChild(node, visit);
  };
  visit(source);

  const render = (literal: Literal, depth = 0): string => {
    if (!ts.isTemplateExpression(literal)) return literal.text;
    let out = literal.head.text;
    for (const span of literal.templateSpans) {
      const name = ts.isIdentifier(span.expression) ? span.expression.text : undefined;
      const constant = name !== undefined ? constants.get(name) : undefined;
      out += (constant && depth < 5 ? render(constant, depth + 1) : '?') + span.literal.text;
    }
    return out;
  };
  const fragments = new Set([...interpolated].map((name) => constants.get(name)).filter((l) => l !== undefined));
  return literals
    .filter((literal) => !fragments.has(literal))
    .map((literal) => ({
      file: path.basename(file),
      line: source.getLineAndCharacterOfPosition(literal.getStart()).line + 1,
      sql: render(literal),
    }))
    .filter((s) => STATEMENT.test(s.sql));
}

/** The tables a statement reads or writes: the names after FROM, JOIN, INTO and UPDATE (lower case). */
export function tablesOf(sql: string): string[] {
  const names = [...sql.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE)\s+([A-Za-z_][A-Za-z0-9_]*)/gi)].map((m) =>
    m[1].toLowerCase(),
  );
  return [...new Set(names)];
}
