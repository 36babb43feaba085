/**
 * A YAML writer for JSON-shaped values that reproduces kubectl's `-o yaml` output byte for byte
 * on the cases we checked (kubectl marshals to JSON, then sigs.k8s.io/yaml re-encodes it with
 * its go-yaml v2 fork).
 *
 * It follows go-yaml v2's encoder (string style choice, YAML 1.1 resolution) and libyaml's
 * emitter (scalar analysis, indentation, folding at column 80), limited to what JSON can hold:
 * block mappings and sequences, `[]` and `{}` for empty ones, and scalars. Mapping keys keep
 * their given order instead of Go's sorted map order.
 *
 * Why not the `yaml` package's `stringify()` (which reads and edits kubeconfigs here): it writes
 * YAML 1.2, and kubectl's go-yaml v2 writes YAML 1.1, so for the same object kubectl prints
 * `a: "yes"`, `b: "on"`, `"n": "0755"` and `t: "2026-12-02T05:00:00Z"` (strings that YAML 1.1
 * would read as booleans or timestamps are quoted, the key `n` too), where `yaml` prints them
 * bare; and libyaml folds a long plain scalar after the word that crosses column 80, `yaml`
 * before it. Our `-o yaml` must be kubectl's (tests/output/printers_test.ts compares them).
 */

const BEST_INDENT = 2;
const BEST_WIDTH = 80;
const MAX_SIMPLE_KEY_BYTES = 128;

type Style = "plain" | "single" | "double" | "literal";

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

interface Context {
  root: boolean;
  mapping: boolean;
  simpleKey: boolean;
}

/** Writes a JSON-shaped value (objects, arrays, strings, finite numbers, booleans, null). */
export function emitYaml(value: unknown): string {
  const emitter = new Emitter();
  emitter.node(value, { root: true, mapping: false, simpleKey: false });
  emitter.writeIndent();
  return emitter.text();
}

class Emitter {
  #out: string[] = [];
  #column = 0;
  #whitespace = true;
  #indention = true;
  #indent = -1;
  #indents: number[] = [];

  text(): string {
    return this.#out.join("");
  }

  node(value: unknown, ctx: Context): void {
    if (Array.isArray(value)) this.#sequence(value, ctx);
    else if (value !== null && typeof value === "object") {
      this.#mapping(Object.entries(value as Record<string, unknown>));
    } else this.#scalar(value, ctx);
  }

  #sequence(items: unknown[], ctx: Context): void {
    if (items.length === 0) {
      this.#emptyFlow("[", "]");
      return;
    }
    // A sequence under a mapping key is not indented further: `key:\n- a`.
    this.#increaseIndent(false, ctx.mapping && !this.#indention);
    for (const item of items) {
      this.writeIndent();
      this.#indicator("-", true, false, true);
      this.node(item, { root: false, mapping: false, simpleKey: false });
    }
    this.#popIndent();
  }

  #mapping(entries: [string, unknown][]): void {
    if (entries.length === 0) {
      this.#emptyFlow("{", "}");
      return;
    }
    this.#increaseIndent(false, false);
    for (const [key, value] of entries) {
      this.writeIndent();
      const keyData = scalarData(key);
      if (!analyze(keyData.text).multiline && utf8Length(keyData.text) <= MAX_SIMPLE_KEY_BYTES) {
        this.#scalar(key, { root: false, mapping: false, simpleKey: true });
        this.#indicator(":", false, false, false);
      } else {
        this.#indicator("?", true, false, true);
        this.#scalar(key, { root: false, mapping: true, simpleKey: false });
        this.writeIndent();
        this.#indicator(":", true, false, true);
      }
      this.node(value, { root: false, mapping: true, simpleKey: false });
    }
    this.#popIndent();
  }

  #emptyFlow(open: string, close: string): void {
    this.#indicator(open, true, true, false);
    this.#indicator(close, false, false, false);
  }

  #scalar(value: unknown, ctx: Context): void {
    const { text, style: requested } = scalarData(value);
    const analysis = analyze(text);
    let style = requested;
    if (ctx.simpleKey && analysis.multiline) style = "double";
    if (style === "plain") {
      if (!analysis.blockPlainAllowed || (text === "" && ctx.simpleKey)) style = "single";
    }
    if (style === "single" && !analysis.singleQuotedAllowed) style = "double";
    if (style === "literal" && (!analysis.blockAllowed || ctx.simpleKey)) style = "double";

    this.#increaseIndent(true, false);
    const allowBreaks = !ctx.simpleKey;
    if (style === "plain") this.#plain(text, allowBreaks);
    else if (style === "single") this.#singleQuoted(text, allowBreaks);
    else if (style === "double") this.#doubleQuoted(text, allowBreaks);
    else this.#literal(text);
    this.#popIndent();
  }

  #increaseIndent(flow: boolean, indentless: boolean): void {
    this.#indents.push(this.#indent);
    if (this.#indent < 0) this.#indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.#indent += BEST_INDENT;
  }

  #popIndent(): void {
    this.#indent = this.#indents.pop()!;
  }

  #put(text: string): void {
    this.#out.push(text);
    this.#column += 1;
  }

  #putBreak(): void {
    this.#out.push("\n");
    this.#column = 0;
    this.#indention = true;
  }

  // Writes a line break taken from the value: "\n" as such, other breaks verbatim.
  #writeBreak(ch: string): void {
    if (ch === "\n") {
      this.#putBreak();
    } else {
      this.#out.push(ch);
      this.#column = 0;
      this.#indention = true;
    }
  }

  writeIndent(): void {
    const indent = Math.max(this.#indent, 0);
    if (
      !this.#indention || this.#column > indent ||
      (this.#column === indent && !this.#whitespace)
    ) {
      this.#putBreak();
    }
    while (this.#column < indent) this.#put(" ");
    this.#whitespace = true;
    this.#indention = true;
  }

  #indicator(text: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean) {
    if (needWhitespace && !this.#whitespace) this.#put(" ");
    for (const ch of text) this.#put(ch);
    this.#whitespace = isWhitespace;
    this.#indention = this.#indention && isIndention;
  }

  #plain(text: string, allowBreaks: boolean): void {
    if (!this.#whitespace) this.#put(" ");
    const chars = [...text];
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      if (ch === " ") {
        if (allowBreaks && !spaces && this.#column > BEST_WIDTH && chars[i + 1] !== " ") {
          this.writeIndent();
        } else {
          this.#put(ch);
        }
        spaces = true;
      } else if (isBreak(ch)) {
        if (!breaks && ch === "\n") this.#putBreak();
        this.#writeBreak(ch);
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.#put(ch);
        this.#indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (text !== "") this.#whitespace = false;
    this.#indention = false;
  }

  #singleQuoted(text: string, allowBreaks: boolean): void {
    this.#indicator("'", true, false, false);
    const chars = [...text];
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      if (ch === " ") {
        if (
          allowBreaks && !spaces && this.#column > BEST_WIDTH && i > 0 && i < chars.length - 1 &&
          chars[i + 1] !== " "
        ) {
          this.writeIndent();
        } else {
          this.#put(ch);
        }
        spaces = true;
      } else if (isBreak(ch)) {
        if (!breaks && ch === "\n") this.#putBreak();
        this.#writeBreak(ch);
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (ch === "'") this.#put("'");
        this.#put(ch);
        this.#indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.#indicator("'", false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #doubleQuoted(text: string, allowBreaks: boolean): void {
    this.#indicator('"', true, false, false);
    const chars = [...text];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      const code = ch.codePointAt(0)!;
      if (!isPrintable(code) || code === 0xfeff || isBreak(ch) || ch === '"' || ch === "\\") {
        for (const part of escapeDouble(code)) this.#put(part);
        spaces = false;
      } else if (ch === " ") {
        if (allowBreaks && !spaces && this.#column > BEST_WIDTH && i > 0 && i < chars.length - 1) {
          this.writeIndent();
          if (chars[i + 1] === " ") this.#put("\\");
        } else {
          this.#put(ch);
        }
        spaces = true;
      } else {
        this.#put(ch);
        spaces = false;
      }
    }
    this.#indicator('"', false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #literal(text: string): void {
    this.#indicator("|", true, false, false);
    this.#blockHints(text);
    this.#putBreak();
    this.#whitespace = true;
    this.#indention = true;
    let breaks = true;
    for (const ch of text) {
      if (isBreak(ch)) {
        this.#writeBreak(ch);
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.#put(ch);
        this.#indention = false;
        breaks = false;
      }
    }
  }

  #blockHints(text: string): void {
    const chars = [...text];
    if (chars[0] === " " || isBreak(chars[0] ?? "")) {
      this.#indicator(String(BEST_INDENT), false, false, false);
    }
    const last = chars.length - 1;
    let chomp = "";
    if (chars.length === 0 || !isBreak(chars[last])) chomp = "-";
    else if (last === 0 || isBreak(chars[last - 1])) chomp = "+";
    if (chomp) this.#indicator(chomp, false, false, false);
  }
}

// The value's text and the style go-yaml's encoder asks for before the emitter's checks.
function scalarData(value: unknown): { text: string; style: Style } {
  if (value === null || value === undefined) return { text: "null", style: "plain" };
  if (typeof value === "boolean") return { text: String(value), style: "plain" };
  if (typeof value === "number") return { text: formatNumber(value), style: "plain" };
  const text = String(value);
  if (text.includes("\n")) return { text, style: "literal" };
  const plain = resolvesToString(text) && !isBase60Float(text);
  return { text, style: plain ? "plain" : "double" };
}

// JSON integers stay integers in go-yaml; other numbers are float64 written with %g.
// Integers beyond int64/uint64 become floats there too.
function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return "null";
  if (Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 64) return String(n);
  const [mantissa, exponentText] = n.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(n);
}

function analyze(text: string): Analysis {
  if (text === "") {
    return {
      multiline: false,
      blockPlainAllowed: true,
      singleQuotedAllowed: true,
      blockAllowed: false,
    };
  }
  const chars = [...text];
  let blockIndicators = text.startsWith("---") || text.startsWith("...");
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;

  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const next = chars[i + 1];
    const followedByWhitespace = next === undefined || next === " " || next === "\t";
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      else if ((ch === "?" || ch === ":" || ch === "-") && followedByWhitespace) {
        blockIndicators = true;
      }
    } else if (ch === ":" && followedByWhitespace) {
      blockIndicators = true;
    } else if (ch === "#" && precededByWhitespace) {
      blockIndicators = true;
    }

    const code = ch.codePointAt(0)!;
    if (!isPrintable(code)) specialCharacters = true;
    const last = i === chars.length - 1;
    if (ch === " ") {
      if (i === 0) leadingSpace = true;
      if (last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(ch)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = ch === " " || ch === "\t" || isBreak(ch) || ch === "\0";
  }

  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (spaceBreak || specialCharacters) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
    blockAllowed = false;
  }
  if (lineBreaks || blockIndicators) blockPlainAllowed = false;
  return { multiline: lineBreaks, blockPlainAllowed, singleQuotedAllowed, blockAllowed };
}

// libyaml's printable set; tabs, CR, C1 controls and characters beyond the BMP are not in it.
function isPrintable(code: number): boolean {
  return code === 0x0a || (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd && code !== 0xfeff);
}

function isBreak(ch: string): boolean {
  return ch === "\n" || ch === "\r" || ch === "\u0085" || ch === "\u2028" || ch === "\u2029";
}

const SHORT_ESCAPES: Record<number, string> = {
  0x00: "0",
  0x07: "a",
  0x08: "b",
  0x09: "t",
  0x0a: "n",
  0x0b: "v",
  0x0c: "f",
  0x0d: "r",
  0x1b: "e",
  0x22: '"',
  0x5c: "\\",
  0x85: "N",
  0xa0: "_",
  0x2028: "L",
  0x2029: "P",
};

function escapeDouble(code: number): string[] {
  const short = SHORT_ESCAPES[code];
  if (short !== undefined) return ["\\", short];
  const [letter, width] = code <= 0xff ? ["x", 2] : code <= 0xffff ? ["u", 4] : ["U", 8];
  return ["\\", letter, ...code.toString(16).toUpperCase().padStart(width, "0")];
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

// go-yaml v2's resolve(): would this text, written plain, read back as something other than a
// string under its YAML 1.1 rules?
function resolvesToString(text: string): boolean {
  if (text === "") return false;
  if (RESOLVE_MAP.has(text) && "+-0123456789yYnNtTfFoO~.".includes(text[0])) return false;
  const first = text[0];
  if (first === ".") return !isGoFloat(text);
  if (!"+-0123456789".includes(first)) return true;
  if (isTimestamp(text)) return false;
  const plain = text.replaceAll("_", "");
  if (isGoInt(plain)) return false;
  return !isGoFloat(plain);
}

const RESOLVE_MAP = new Set([
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "true",
  "True",
  "TRUE",
  "on",
  "On",
  "ON",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "false",
  "False",
  "FALSE",
  "off",
  "Off",
  "OFF",
  "~",
  "null",
  "Null",
  "NULL",
  ".nan",
  ".NaN",
  ".NAN",
  ".inf",
  ".Inf",
  ".INF",
  "+.inf",
  "+.Inf",
  "+.INF",
  "-.inf",
  "-.Inf",
  "-.INF",
]);

// go-yaml's yamlStyleFloat pattern, then strconv.ParseFloat's range check.
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

function isGoFloat(text: string): boolean {
  return YAML_STYLE_FLOAT.test(text) && Number.isFinite(Number(text));
}

// strconv.ParseInt(text, 0, 64), or ParseUint for unsigned values beyond int64.
function isGoInt(text: string): boolean {
  const match = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(
    text,
  );
  if (!match) return false;
  const [, sign, digits] = match;
  let magnitude: bigint;
  const prefix = digits.slice(0, 2).toLowerCase();
  if (prefix === "0o") magnitude = BigInt(`0o${digits.slice(2)}`);
  else if (prefix === "0x" || prefix === "0b") magnitude = BigInt(digits.toLowerCase());
  else if (digits.length > 1 && digits.startsWith("0")) magnitude = BigInt(`0o${digits.slice(1)}`);
  else magnitude = BigInt(digits);
  if (sign === "-") return magnitude <= 1n << 63n;
  if (magnitude <= (1n << 63n) - 1n) return true;
  return sign === "" && magnitude <= (1n << 64n) - 1n;
}

// The timestamp forms go-yaml v2 tries (date, date-time with zone, space-separated date-time).
function isTimestamp(text: string): boolean {
  const match =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$/
      .exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const hour = Number(match[4] ?? match[7] ?? 0);
  const minute = Number(match[5] ?? match[8] ?? 0);
  const second = Number(match[6] ?? match[9] ?? 0);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= daysInMonth && hour < 24 && minute < 60 && second < 60;
}

const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

function isBase60Float(text: string): boolean {
  return /^[-+0-9]/.test(text) && text.includes(":") && BASE60_FLOAT.test(text);
}
