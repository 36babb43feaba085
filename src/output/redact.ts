/**
 * The one redaction step for diagnostics: text that reaches stderr may quote a server or a file
 * (Status messages, `Warning` headers, the start of an unexpected body), and a hostile or buggy
 * server can echo the request's credential or send terminal escape sequences there. Secrets the
 * run holds and anything shaped like a token become `[redacted]`; control characters are
 * printed escaped (`\x1b`), so server text cannot move the cursor, recolour or rewrite lines.
 */
import type { Output, Runtime } from "../runtime.ts";
import { BOOTSTRAP_TOKEN_IN_TEXT } from "../bootstrap/token.ts";

/** What a secret is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Shorter secrets are not replaced as text (redacting every "abc" would garble messages); the
 * token patterns below still catch real tokens of any length.
 */
const MIN_SECRET_LENGTH = 6;

// A JWT (or JWE) starts with the base64url of `{"`: "eyJ". Requiring it keeps dotted names
// (kubernetes.default.svc, v1.20.2, system:serviceaccount:ns.sa) out.
const JWT = /eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)*/g;
// Bootstrap token `<id>.<secret>`; the id alone (bootstrap-token-abcdef) is not a secret.
const BOOTSTRAP = BOOTSTRAP_TOKEN_IN_TEXT;
// The value of an Authorization header, as a server might quote it. A value of lowercase letters
// only is English ("Bearer tokens"), not a credential.
const AUTH_SCHEME =
  /\b(Bearer|Basic)\s+(?=[A-Za-z0-9._~+/=-]*[A-Z0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/g;

// C0 controls but newline and tab, DEL, C1 controls, and the Unicode line separators and
// direction overrides that reorder what a terminal shows.
const CONTROL =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The secrets of one run, and the redaction of text that may quote them. */
export class Redactor {
  #secrets = new Set<string>();

  /** Remember a secret (token, password, key) the run holds; short or empty ones are ignored. */
  add(secret: string | undefined): void {
    if (!secret) return;
    const value = secret.trim();
    if (value.length < MIN_SECRET_LENGTH) return;
    this.#secrets.add(value);
    // A PEM key can be quoted line by line.
    if (value.includes("\n")) {
      for (const line of value.split(/\r?\n/)) {
        if (line.length >= 16 && !line.startsWith("-----")) this.#secrets.add(line);
      }
    }
  }

  /** `text` with secrets and token-shaped words replaced and control characters escaped. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }
}

/** `text` with every secret and token-shaped word replaced and control characters escaped. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  const list = [...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  for (const secret of list) out = out.split(secret).join(REDACTED);
  out = out.replace(JWT, REDACTED)
    .replace(BOOTSTRAP, REDACTED)
    .replace(AUTH_SCHEME, (_, scheme) => `${scheme} ${REDACTED}`);
  return escapeControls(out);
}

/** Control characters (but newline and tab) as `\x1b` or `\u202e`, the rest unchanged. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

const ERASE_LINE = "\x1b[K";

/** An output whose every write passes through a {@link Redactor}. */
class RedactingOutput implements Output {
  #inner: Output;
  #redactor: Redactor;
  constructor(inner: Output, redactor: Redactor) {
    this.#inner = inner;
    this.#redactor = redactor;
  }
  write(data: string | Uint8Array): void {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    // Our own progress lines start with a carriage return and end by erasing the rest of the
    // line; only those two positions keep their control characters. Server text always sits
    // inside a write ("error: ...\n", "Warning: ...\n"), so it never reaches them.
    const start = text.startsWith("\r") ? "\r" : "";
    const end = text.endsWith(ERASE_LINE) && text.length >= start.length + ERASE_LINE.length
      ? ERASE_LINE
      : "";
    const middle = text.slice(start.length, text.length - end.length);
    this.#inner.write(start + this.#redactor.redact(middle) + end);
  }
  isTerminal(): boolean {
    return this.#inner.isTerminal();
  }
}

const redactors = new WeakMap<Runtime, Redactor>();

/**
 * The runtime of one run with a redacting stderr. Diagnostics never carry a token the user
 * asked for (those go to stdout), so every stderr line goes through the step: error lines,
 * `I detail:`, server `Warning:` lines, per-item errors, verbose logs.
 */
export function withRedactedStderr(runtime: Runtime): Runtime {
  if (runtime.stderr instanceof RedactingOutput) return runtime;
  const redactor = redactorOf(runtime);
  const guarded: Runtime = { ...runtime, stderr: new RedactingOutput(runtime.stderr, redactor) };
  redactors.set(guarded, redactor);
  return guarded;
}

/**
 * The redactor of a run started by {@link withRedactedStderr}: commands register the secrets
 * they hold here. A runtime that was not guarded gets a redactor of its own, which is harmless.
 */
export function redactorOf(runtime: Runtime): Redactor {
  let redactor = redactors.get(runtime);
  if (!redactor) {
    redactor = new Redactor();
    redactors.set(runtime, redactor);
  }
  return redactor;
}
