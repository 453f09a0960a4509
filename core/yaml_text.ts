/**
 * YAML text (the config file, the web config) to plain data. A syntax error names the line,
 * the column and the key it sits under, never the text of the line: the value on it may be a
 * secret (an API key, a password), and error messages end up in terminals and journals.
 */
import { parseDocument } from "yaml";

export class YamlSyntaxError extends Error {
  constructor(
    /** 1-based; absent when the parser gave no position. */
    readonly line: number | undefined,
    readonly column: number | undefined,
    /** The key the error sits under, e.g. `accounts[0].vcc_api_key`. */
    readonly key: string | undefined,
    /** What is wrong and how to fix it, in words (no text from the file). */
    readonly problem: string,
  ) {
    const at = line === undefined ? "" : `at line ${line}, column ${column}`;
    const under = key === undefined ? "" : `${at ? ", " : ""}in key ${key}`;
    super(`${at}${under}${at || under ? ": " : ""}${problem}`);
    this.name = "YamlSyntaxError";
  }
}

/** The parser's error codes in words, with the usual fix; the parser's own text quotes the line. */
const PROBLEMS: Readonly<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY: 'a value holds ": " — put the whole value in quotes',
  MULTILINE_IMPLICIT_KEY: "a key or value runs over several lines — put the value in quotes",
  BAD_INDENT: "the indentation does not match the lines around it, or a [ or { is not closed",
  TAB_AS_INDENT: "a tab indents the line — indent with spaces",
  DUPLICATE_KEY: "this key appears twice in the same block — keep one",
  BAD_DQ_ESCAPE: 'a backslash in a "double-quoted" value is not a valid escape — use ' +
    "'single quotes' or write the backslash twice",
  MISSING_CHAR: "a closing quote, ] or } is missing",
  BAD_SCALAR_START: "a value starts with a character YAML reserves (@, `, %, |, >) — put it in " +
    "quotes",
  UNEXPECTED_TOKEN: "a character YAML does not expect here — put the value in quotes",
  BLOCK_IN_FLOW: "a block (a new line with - or key:) inside [ ] or { } — write it on one line",
  MULTIPLE_DOCS: "more than one document (a --- line) — keep one",
  KEY_OVER_1024_CHARS: "a key longer than 1024 characters — a colon may be missing",
  NON_STRING_KEY: "a key that is not plain text — write keys as words",
};

/** Parses YAML; throws YamlSyntaxError naming the line, column and key, never the value. */
export function parseYamlText(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, logLevel: "silent" });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const problem = PROBLEMS[error.code] ?? `a YAML syntax error (${error.code})`;
    throw new YamlSyntaxError(
      pos?.line,
      pos?.col,
      pos ? keyAt(text.split(/\r?\n/), pos.line - 1) : undefined,
      problem,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    // The parser's message would quote the alias; the alias name is text from the file.
    throw new YamlSyntaxError(
      undefined,
      undefined,
      undefined,
      "an alias (*name) names no anchor (&name) before it, or aliases nest too deep",
    );
  }
}

/**
 * `key:` at the start of a line (after an optional list dash). Only lower-case snake_case
 * names count as keys, as every config key is: a VIN or a token someone wrote as a key is
 * never named.
 */
const KEY_LINE = /^(\s*)(-\s+)?(["']?)([a-z_][a-z0-9_]*)\3[ \t]*:(?:\s|$)/;
const ITEM_LINE = /^(\s*)-(?:\s|$)/;

/**
 * The dotted path of the key on line `from` (0-based) or the nearest one above it, climbing
 * to its parents by indentation, with list positions: `accounts[0].vcc_api_key`.
 */
export function keyAt(lines: readonly string[], from: number): string | undefined {
  const path: string[] = [];
  /** A parent key sits left of this column. */
  let limit = Infinity;
  /** The list item the path so far is in: its dash column and how many items precede it. */
  let list: { dash: number; index: number } | undefined;
  for (let i = Math.min(from, lines.length - 1); i >= 0; i--) {
    const line = lines[i];
    const item = ITEM_LINE.exec(line);
    if (list && item && item[1].length === list.dash) {
      list.index++; // an earlier item of the same list
      continue;
    }
    const m = KEY_LINE.exec(line);
    if (!m) continue;
    const dash = m[1].length;
    const column = dash + (m[2]?.length ?? 0);
    if (m[2] && column === limit && !list) {
      // The first key of the list item the path is in (`- provider: volvo`).
      list = { dash, index: 0 };
      limit = dash + 1;
      continue;
    }
    if (column >= limit) continue;
    path.unshift(list ? `${m[4]}[${list.index}]` : m[4]);
    list = m[2] ? { dash, index: 0 } : undefined;
    limit = m[2] ? dash + 1 : column;
  }
  return path.length ? path.join(".") : undefined;
}
