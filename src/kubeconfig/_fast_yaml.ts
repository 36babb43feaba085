/**
 * A strict reader for the YAML that kubeconfig writers produce (kubectl, client-go, kind, k3s,
 * minikube, the cloud CLIs): block mappings and sequences, one-line scalars, plain scalars of a
 * mapping value wrapped over lines (go-yaml and PyYAML wrap long strings at 80 columns, e.g.
 * the `installHint` of GKE's and EKS's exec plugins), `{}` and `[]`, comments. It gives the value the yaml package would give with the options of
 * readKubeconfigYaml (YAML 1.1 as go-yaml v2 reads it), or undefined when the text holds
 * anything it is not sure of; the caller then asks the yaml package, which also words the
 * errors. Loading the yaml package costs a CLI run ~30 ms (issue #12), reading this way ~0 ms.
 */

/** The data of YAML text, or undefined when the text is outside the subset read here. */
export function readFastYaml(text: string): unknown {
  try {
    const lines = significantLines(text);
    if (lines.length === 0) return null;
    const reader = new BlockReader(lines);
    const value = reader.collection(lines[0].indent);
    if (!reader.done()) decline();
    return value;
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}

const DECLINE = Symbol("decline");

function decline(): never {
  throw DECLINE;
}

interface Line {
  indent: number;
  /** The line without its indentation and trailing spaces; never empty, never a comment. */
  text: string;
  /** Its index among all lines of the text (blank and comment lines included). */
  row: number;
}

// Tabs (indentation rules differ), a CR outside CRLF, characters that are not printable in YAML
// or that YAML 1.1 takes as line breaks (NEL, LS, PS), a BOM past the start, lone surrogates.
const UNSUPPORTED_CHAR =
  // deno-lint-ignore no-control-regex
  /[\t\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]|\r(?!\n)|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function significantLines(text: string): Line[] {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (UNSUPPORTED_CHAR.test(body)) decline();
  // The yaml package fails on a sequence entry on the line of a BOM (2.9.1).
  if (body !== text && /^ *-/.test(body) && !body.startsWith("---")) decline();
  const lines: Line[] = [];
  let started = false;
  const raws = body.split("\n");
  for (let row = 0; row < raws.length; row++) {
    const raw = raws[row];
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const content = line.trimEnd();
    const start = content.length - content.trimStart().length;
    const rest = content.slice(start);
    if (rest === "" || rest.startsWith("#")) continue;
    if (start === 0) {
      if (rest === "---" && !started) {
        started = true;
        continue;
      }
      // Directives, document markers after content, and markers carrying content.
      if (rest.startsWith("%") || /^(?:---|\.\.\.)(?: |$)/.test(rest)) decline();
    }
    started = true;
    lines.push({ indent: start, text: rest, row });
  }
  return lines;
}

function isDash(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

/** Reads block collections from significant lines; every doubt declines. */
class BlockReader {
  #lines: Line[];
  #at = 0;

  constructor(lines: Line[]) {
    this.#lines = lines;
  }

  done(): boolean {
    return this.#at === this.#lines.length;
  }

  /** The mapping or sequence whose first line is the next one, at `indent`. */
  collection(indent: number): unknown {
    const line = this.#lines[this.#at];
    return isDash(line.text) ? this.#sequence(indent) : this.#mapping(indent);
  }

  #peek(): Line | undefined {
    return this.#lines[this.#at];
  }

  /** The value of a key or `-` with nothing after it on its line. */
  #blockValue(indent: number, sameIndentSequence: boolean): unknown {
    const next = this.#peek();
    if (next === undefined || next.indent < indent) return null;
    if (next.indent > indent) return this.collection(next.indent);
    // kubectl writes a mapping's sequence at the indentation of its key.
    return sameIndentSequence && isDash(next.text) ? this.#sequence(indent) : null;
  }

  #mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.#peek(); line !== undefined; line = this.#peek()) {
      if (line.indent > indent) decline();
      if (line.indent < indent) break;
      const entry = keyLine(line.text) ?? decline();
      // The yaml package lets a repeated key win (uniqueKeys: false); not worth re-creating.
      if (Object.hasOwn(out, entry.key)) decline();
      this.#at++;
      const next = this.#peek();
      out[entry.key] = entry.rest === ""
        ? this.#blockValue(indent, true)
        : next !== undefined && next.indent > indent
        ? this.#wrappedPlain(entry.rest, line.row, indent)
        : inlineValue(entry.rest);
    }
    return out;
  }

  /**
   * A mapping value's plain scalar that goes on over the next, more indented lines: its lines
   * joined by one space (YAML's line folding). Declines a first line that is not a plain
   * scalar or has a comment, a blank or comment line in between (folding keeps blank lines as
   * newlines, and a comment ends the scalar), and continuation lines that could be anything but
   * text (an indicator first, `: ` or ` #` inside).
   */
  #wrappedPlain(first: string, row: number, indent: number): string {
    if (INDICATOR.test(first) || first[0] === "{" || first[0] === "[") decline();
    const parts = [first];
    for (let next = this.#peek(); next !== undefined && next.indent > indent; next = this.#peek()) {
      if (next.row !== row + 1 || INDICATOR.test(next.text)) decline();
      parts.push(next.text);
      row = next.row;
      this.#at++;
    }
    for (const part of parts) {
      if (part.includes(" #") || part.includes(": ") || part.endsWith(":")) decline();
    }
    const text = parts.join(" ");
    if (!obviouslyString(text)) decline();
    return text;
  }

  #sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.#peek(); line !== undefined; line = this.#peek()) {
      if (line.indent > indent) decline();
      if (line.indent < indent || !isDash(line.text)) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === "" || rest.startsWith("#")) {
        this.#at++;
        out.push(this.#blockValue(indent, false));
      } else if (isDash(rest)) {
        decline();
      } else if (keyLine(rest) !== undefined) {
        // `- key: value` starts a mapping at the column of its key: read it as its own line.
        const column = indent + line.text.length - rest.length;
        this.#lines[this.#at] = { indent: column, text: rest, row: line.row };
        out.push(this.#mapping(column));
      } else {
        this.#at++;
        out.push(inlineValue(rest));
      }
    }
    return out;
  }
}

// Longer implicit keys are an error in YAML (1024 characters).
const MAX_KEY_LENGTH = 1000;

/** A line's key and what follows its `:` (comment removed), or undefined when it has no key. */
function keyLine(text: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: number;
  if (text[0] === '"' || text[0] === "'") {
    const quoted = text[0] === '"' ? doubleQuoted(text) : singleQuoted(text);
    if (quoted === undefined || text[quoted.end] !== ":") return undefined;
    key = quoted.value;
    after = quoted.end + 1;
  } else {
    const colon = text.search(/:(?: |$)/);
    if (colon < 0) return undefined;
    const raw = text.slice(0, colon);
    if (raw.includes(" #")) return undefined;
    key = raw.trimEnd();
    if (
      key === "" || INDICATOR.test(key) || key.startsWith("-") || key.includes(":") ||
      !obviouslyString(key)
    ) {
      decline();
    }
    after = colon + 1;
  }
  if (after > MAX_KEY_LENGTH) decline();
  if (after < text.length && text[after] !== " ") return undefined;
  if (key === "__proto__") decline();
  const rest = text.slice(after).trimStart();
  return { key, rest: rest.startsWith("#") ? "" : rest };
}

// Characters that cannot start a plain scalar (or start something else: tags, anchors, aliases,
// block scalars, flow collections, directives, reserved).
const INDICATOR = /^(?:[?:,[\]{}#&*!|>'"%@`]|-(?: |$))/;

/** The value of the text after `key: ` or `- ` (not empty, not a comment). */
function inlineValue(text: string): unknown {
  if (text[0] === '"' || text[0] === "'") {
    const quoted = (text[0] === '"' ? doubleQuoted(text) : singleQuoted(text)) ?? decline();
    const tail = text.slice(quoted.end);
    if (tail !== "" && !/^ +#/.test(tail)) decline();
    return quoted.value;
  }
  if (text[0] === "{" || text[0] === "[") {
    const empty = /^(\{\}|\[\])(?: +#.*)?$/.exec(text) ?? decline();
    return empty[1] === "{}" ? {} : [];
  }
  if (INDICATOR.test(text)) decline();
  const comment = text.indexOf(" #");
  const plain = comment < 0 ? text : text.slice(0, comment).trimEnd();
  // A `: ` in a value is a nested mapping (an error on one line) or a complex case.
  if (plain.includes(": ") || plain.endsWith(":")) decline();
  return plainScalar(plain);
}

/** A plain scalar's value: only the forms resolved here, strings that are plainly strings. */
function plainScalar(text: string): unknown {
  switch (text) {
    case "~":
    case "null":
    case "Null":
    case "NULL":
      return null;
    case "true":
    case "True":
    case "TRUE":
      return true;
    case "false":
    case "False":
    case "FALSE":
      return false;
  }
  if (/^(?:0|[1-9][0-9]{0,14})$/.test(text)) return Number(text);
  if (!obviouslyString(text)) decline();
  return text;
}

// Every word that YAML 1.1 (or the yaml package's 1.1 schema) might resolve to something else
// than a string, in any letter case: booleans, nulls, the merge key, the value key.
const SPECIAL_WORDS = new Set(["y", "yes", "n", "no", "on", "off", "true", "false", "null", "~"]);

// A superset of the YAML 1.1 numbers: after an optional sign, a based int (0x, 0o, 0b; any hex
// digits), or digits, points, underscores and colons (decimal and octal ints, floats,
// sexagesimal numbers) with an optional exponent.
const NUMBER_LIKE = /^[-+]?(?:0[xXoObB][0-9a-fA-F_]*|[0-9.][0-9_.:]*(?:[eE][-+]?[0-9]+)?)$/;

/**
 * Whether a plain scalar is a string under every YAML 1.1 rule, with room to spare: anything
 * like a number (ints in any base, floats, .inf/.nan, sexagesimal), a timestamp, a boolean or
 * a null is not.
 */
function obviouslyString(text: string): boolean {
  if (SPECIAL_WORDS.has(text.toLowerCase()) || text === "<<" || text === "=") return false;
  if (NUMBER_LIKE.test(text) || /^[-+]?\.(?:inf|nan)$/i.test(text)) return false;
  // An exponent alone (the yaml package's own float rule reads e5 as a number).
  if (/^[-+]?[eE][-+]?[0-9]+$/.test(text)) return false;
  return !/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/.test(text);
}

interface Quoted {
  value: string;
  /** The index just past the closing quote. */
  end: number;
}

/** A single-quoted scalar that ends on its line (`''` is a quote). */
function singleQuoted(text: string): Quoted | undefined {
  let value = "";
  let from = 1;
  for (;;) {
    const quote = text.indexOf("'", from);
    if (quote < 0) return undefined;
    value += text.slice(from, quote);
    if (text[quote + 1] !== "'") return { value, end: quote + 1 };
    value += "'";
    from = quote + 2;
  }
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  n: "\n",
  t: "\t",
  r: "\r",
};

/** A double-quoted scalar that ends on its line, with the escapes kubeconfig writers use. */
function doubleQuoted(text: string): Quoted | undefined {
  let value = "";
  let from = 1;
  for (;;) {
    const stop = text.slice(from).search(/["\\]/);
    if (stop < 0) return undefined;
    const at = from + stop;
    value += text.slice(from, at);
    if (text[at] === '"') return { value, end: at + 1 };
    const escape = text[at + 1];
    if (escape === "u") {
      const hex = text.slice(at + 2, at + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) decline();
      const code = parseInt(hex, 16);
      if (code >= 0xd800 && code <= 0xdfff) decline();
      value += String.fromCharCode(code);
      from = at + 6;
    } else {
      value += ESCAPES[escape] ?? decline();
      from = at + 2;
    }
  }
}
