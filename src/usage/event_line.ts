/**
 * A fast path for the one shape that nearly every line of a real audit log has: an
 * `audit.k8s.io/v1` Event as the API server's log backend marshals it (Go's encoding/json: the
 * struct's field order, no whitespace). One regular expression, compiled to native code by V8,
 * checks the whole line and captures the values `usage` reads; that costs about a third of
 * `JSON.parse`, which builds every value of the line.
 *
 * Exact by construction: the expression matches only valid JSON (strings with their escapes and
 * no control characters, numbers as JSON writes them), each top-level key at most once and in
 * the Go order, and only members whose values `usage` reads in full or does not read at all. A
 * line in any other shape (another producer's field order, whitespace, `null`s, a request or
 * response body, an EventList) does not match, and the caller parses it with `JSON.parse`. The
 * event built from a match has, for every field {@link UsageAggregator} reads, the value
 * `JSON.parse` would give (tested on both kinds of line); it leaves out what the aggregator
 * never reads (level, groups, uid, apiVersion, the Status's message).
 *
 * The captured strings are slices of the line, and so of the text the reader decoded with it:
 * whoever keeps one beyond the event must copy it ({@link ownString}), or it keeps that text
 * alive.
 */
import type { AuditEvent } from "./event.ts";

/** A JSON string's content: no quote, backslash or control character unless escaped. */
const S = String.raw`[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*`;
/** A JSON string without escapes (a value that has one makes the line take `JSON.parse`). */
const PLAIN = String.raw`[^"\\\x00-\x1f]*`;
const Q = `"${S}"`;
/** metav1.MicroTime as the API server writes it. */
const MICRO_TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`;
/**
 * A whole string in that shape (ASCII digits: `\d` without the `u` flag); cheaper than reading
 * the characters one by one.
 */
export const MICRO_TIME_SHAPE = new RegExp(`^${MICRO_TIME}$`);
/** A captured string, without escapes. */
const CP = `"(${PLAIN})"`;
/** A captured string, escapes allowed (requestURI and userAgent: Go writes `&` as \u0026). */
const CQ = `"(${S})"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const LIST = String.raw`\[(?:${Q}(?:,${Q})*)?\]`;
/** map[string]string */
const STRING_MAP = String.raw`\{(?:${Q}:${Q}(?:,${Q}:${Q})*)?\}`;
/** The `user.extra` keys the aggregator reads, in the order Go writes map keys (sorted). */
const EXTRA_KEYS = ["credential-id", "node-name", "node-uid", "pod-name", "pod-uid"];
/**
 * An entry of a member list that follows `{` or a comma; the lookbehind takes the place of the
 * comma for the first entry (and `{` is followed by `"` or `}`, so `{,` never matches).
 */
const SEP = String.raw`(?:(?<=\{)|,)`;
/**
 * user.extra (map[string][]string), with `capture` capturing the first value of each of
 * {@link EXTRA_KEYS}:
 * those keys in sorted order, each at most once, other keys (without escapes, so that none is
 * one of those keys spelled differently) anywhere between.
 */
const extra = (capture: boolean) => {
  const known = String.raw`authentication\.kubernetes\.io/(?:${EXTRA_KEYS.join("|")})`;
  const other = String.raw`(?:${SEP}"(?!${known}")${PLAIN}":${LIST})*`;
  let re = String.raw`\{(?=["}])${other}`;
  for (const key of EXTRA_KEYS) {
    re += String.raw`(?:${SEP}"authentication\.kubernetes\.io/${key}":\[(?:${
      capture ? CP : `"${PLAIN}"`
    }(?:,${Q})*)?\])?${other}`;
  }
  return `${re}\\}`;
};
/** authentication.k8s.io UserInfo; `capture` takes the username and the extra's values. */
const user = (capture: boolean) =>
  String.raw`\{(?:"username":${CP}(?:,"uid":${Q})?(?:,"groups":${LIST})?(?:,"extra":${
    extra(capture)
  })?)?\}`;
/** metav1.StatusDetails without causes. */
const DETAILS = String.raw`\{(?:${Q}:(?:${Q}|${NUMBER})(?:,${Q}:(?:${Q}|${NUMBER}))*)?\}`;
/** metav1.Status; captures the code. */
const STATUS = String
  .raw`\{"metadata":\{\}(?:,"status":${Q})?(?:,"message":${Q})?(?:,"reason":${Q})?(?:,"details":${DETAILS})?(?:,"code":(-?(?:0|[1-9]\d*)))?\}`;
/** audit ObjectReference; captures resource, namespace, name, uid, apiGroup, subresource. */
const OBJECT_REF = String
  .raw`\{"resource":${CP}(?:,"namespace":${CP})?(?:,"name":${CP})?(?:,"uid":${CP})?(?:,"apiGroup":${CP})?(?:,"apiVersion":${Q})?(?:,"resourceVersion":${Q})?(?:,"subresource":${CP})?\}`;

/** k8s.io/apiserver/pkg/apis/audit/v1 Event, in its field order, without the request and response bodies. */
const EVENT = new RegExp(
  String
    .raw`^\{"kind":"Event","apiVersion":"audit\.k8s\.io/v1","level":${Q},"auditID":${CP},"stage":"(?:ResponseComplete(?=")|(${PLAIN}))","requestURI":${CQ},"verb":${CP},"user":${
    user(true)
  }(?:,"impersonatedUser":${
    user(false)
  })?(?:,"sourceIPs":\[((?:"${PLAIN}"(?:,"${PLAIN}")*)?)\])?(?:,"userAgent":${CQ})?(?:,"objectRef":${OBJECT_REF})?(?:,"responseStatus":${STATUS})?,"requestReceivedTimestamp":"(${MICRO_TIME})","stageTimestamp":${Q}(?:,"annotations":(${STRING_MAP}))?\}$`,
);

/** Annotations that may hold one the aggregator reads (a \u escape can spell any name). */
const WANTED_ANNOTATIONS = /legacy-token|issued-credential-id|\\u/;

/**
 * The event on a line in the log backend's exact shape, with the fields `usage` reads; undefined
 * for any other line (parse it with `JSON.parse`).
 */
export function usageEventOfLine(line: string): AuditEvent | undefined {
  const m = EVENT.exec(line);
  if (m === null) return undefined;
  // Every event, user, extra and objectRef built here has one shape (absent fields are
  // undefined, in a fixed order): the aggregator's property reads then see one hidden class
  // each instead of dozens (which makes them megamorphic, a lookup each).
  const resource = m[14];
  const ips = m[12];
  const code = m[20];
  const annotations = m[22];
  return {
    auditID: m[1],
    // The usual stage as the literal, not a copy of it: compared as one.
    stage: m[2] ?? "ResponseComplete",
    // The aggregator reads the URI only for a request without a resource (a non-resource URL).
    requestURI: resource === undefined || resource === "" ? unescaped(m[3]) : undefined,
    verb: m[4],
    user: { username: m[5], extra: extraOf(m) },
    impersonatedUser: m[11] === undefined ? undefined : { username: m[11], extra: undefined },
    sourceIPs: ips === undefined
      ? undefined
      : ips === ""
      ? []
      : ips.indexOf(",") === -1
      ? [ips.slice(1, -1)]
      : ips.slice(1, -1).split('","'),
    userAgent: m[13] === undefined ? undefined : unescaped(m[13]),
    objectRef: resource === undefined ? undefined : {
      resource,
      namespace: m[15],
      name: m[16],
      uid: m[17],
      apiGroup: m[18],
      subresource: m[19],
    },
    // Three digits nearly always (the expression has checked they are digits).
    responseStatus: code === undefined ? undefined : {
      code: code.length === 3 && code.charCodeAt(0) !== 45
        ? code.charCodeAt(0) * 100 + code.charCodeAt(1) * 10 + code.charCodeAt(2) - 5328
        : Number(code),
    },
    // In the shape the aggregator takes as it is; it then never reads stageTimestamp.
    requestReceivedTimestamp: m[21],
    annotations: annotations !== undefined && WANTED_ANNOTATIONS.test(annotations)
      ? JSON.parse(annotations)
      : undefined,
  };
}

/**
 * The `user.extra` of a match: undefined when it has none of {@link EXTRA_KEYS}, else all of
 * them (only the first value of each is read).
 */
function extraOf(m: RegExpExecArray): Record<string, string[]> | undefined {
  const credentialId = m[6], nodeName = m[7], nodeUid = m[8], podName = m[9], podUid = m[10];
  if (
    credentialId === undefined && nodeName === undefined && nodeUid === undefined &&
    podName === undefined && podUid === undefined
  ) return undefined;
  // The names in full, spelled out: a literal's keys make one hidden class.
  const extra = {
    "authentication.kubernetes.io/credential-id": one(credentialId),
    "authentication.kubernetes.io/node-name": one(nodeName),
    "authentication.kubernetes.io/node-uid": one(nodeUid),
    "authentication.kubernetes.io/pod-name": one(podName),
    "authentication.kubernetes.io/pod-uid": one(podUid),
  };
  return extra as Record<string, string[]>;
}

function one(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : [value];
}

/** A captured string's value: its escapes decoded. */
function unescaped(s: string): string {
  return s.indexOf("\\") === -1 ? s : JSON.parse(`"${s}"`);
}

/**
 * A copy of `s` that does not share memory with a larger string: V8 makes a substring of 13
 * characters or more a view of its parent, which keeps the whole parent alive.
 */
export function ownString(s: string): string;
export function ownString(s: string | undefined): string | undefined;
export function ownString(s: string | undefined): string | undefined {
  // A new flat string, exactly the same characters (lone surrogates too): not a concatenation
  // (a tree of pieces) and not a slice of one (a view, whose header costs as much again).
  return s === undefined || s.length < 13 ? s : JSON.parse(JSON.stringify(s));
}

/**
 * A copy of `s` for a while (an event waiting for its final stage): like {@link ownString}, it
 * keeps nothing else alive, and is cheaper to make, for 32 bytes more (V8 slices the flat
 * string that the concatenation becomes).
 */
export function copiedString(s: string): string;
export function copiedString(s: string | undefined): string | undefined;
export function copiedString(s: string | undefined): string | undefined {
  return s === undefined || s.length < 13 ? s : `${s} `.slice(0, -1);
}
