import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import {
  compactDuration,
  expiryPhrase,
  formatGoDuration,
  humanDuration,
  relativeTime,
  rfc3339,
} from "../../src/output/duration.ts";
import { parseDurationFlag, parseGoDuration } from "../../src/flags/duration.ts";

const NS = 1e-6;
const US = 1e-3;
const MS = 1;
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

Deno.test("parseGoDuration() follows time.ParseDuration", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["-0", 0],
    ["+0", 0],
    ["5s", 5 * S],
    ["90m", 90 * M],
    ["1h30m", 90 * M],
    ["1.5h", 90 * M],
    ["-2s", -2 * S],
    ["+5s", 5 * S],
    ["300ms", 300 * MS],
    ["1us", US],
    ["1\u00b5s", US],
    ["1\u03bcs", US],
    ["1ns", NS],
    [".5s", 500 * MS],
    ["1.s", S],
    ["1h1h", 2 * H],
    ["1h0m0s", H],
    ["4294967296s", 4294967296 * S],
    ["1.0000000001s", S],
  ];
  for (const [text, ms] of cases) {
    await t.step(text, () => assert.equal(parseGoDuration(text), ms));
  }
});

Deno.test("parseGoDuration() rejects what time.ParseDuration rejects", async (t) => {
  const cases: [string, string][] = [
    ["", 'Invalid duration "": expected a number followed by a unit such as 90m or 1h30m'],
    ["-", 'Invalid duration "-": expected a number followed by a unit such as 90m or 1h30m'],
    ["90", 'Invalid duration "90": missing unit (ns, us, ms, s, m or h)'],
    ["90x", 'Invalid duration "90x": unknown unit "x"'],
    ["5d", 'Invalid duration "5d": unknown unit "d"'],
    ["1 h", 'Invalid duration "1 h": unknown unit " h"'],
    ["h", 'Invalid duration "h": expected a number followed by a unit such as 90m or 1h30m'],
    [".s", 'Invalid duration ".s": expected a number followed by a unit such as 90m or 1h30m'],
    ["1.5.5s", 'Invalid duration "1.5.5s": missing unit (ns, us, ms, s, m or h)'],
    ["1h-1m", 'Invalid duration "1h-1m": unknown unit "h-"'],
    [
      "9223372036854775808ns",
      'Invalid duration "9223372036854775808ns": the duration is out of range',
    ],
  ];
  for (const [text, message] of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseGoDuration(text), { name: "Error", message });
    });
  }
});

Deno.test("parseDurationFlag() names the flag in a UsageError", async (t) => {
  const cases: { flag: string; text: string; opts?: object; message: string }[] = [
    {
      flag: "--duration",
      text: "90x",
      message: 'Invalid value "90x" for flag --duration: expected a duration such as 90m or 1h30m',
    },
    {
      flag: "duration",
      text: "",
      message: 'Invalid value "" for flag --duration: expected a duration such as 90m or 1h30m',
    },
    {
      flag: "--duration",
      text: "1.5s",
      opts: { wholeSeconds: true },
      message:
        'Invalid value "1.5s" for flag --duration: the duration must be a whole number of seconds, such as 90s',
    },
    {
      flag: "--duration",
      text: "-10m",
      message: 'Invalid value "-10m" for flag --duration: the duration must not be negative',
    },
  ];
  for (const c of cases) {
    await t.step(`${c.text} ${JSON.stringify(c.opts ?? {})}`, () => {
      assert.throws(() => parseDurationFlag(c.flag, c.text, c.opts), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.message, c.message);
        return true;
      });
    });
  }
});

Deno.test("parseDurationFlag() returns milliseconds for good values", () => {
  assert.equal(parseDurationFlag("--duration", "1h30m", { wholeSeconds: true }), 90 * M);
  assert.equal(parseDurationFlag("--duration", "0", { wholeSeconds: true }), 0);
  assert.equal(parseDurationFlag("--skew", "1500ms"), 1500);
  assert.equal(parseDurationFlag("--offset", "-5m", { allowNegative: true }), -5 * M);
});

Deno.test("formatGoDuration() matches Duration.String", async (t) => {
  const cases: [number, string][] = [
    [0, "0s"],
    [NS, "1ns"],
    [1.5 * US, "1.5\u00b5s"],
    [1.5 * MS, "1.5ms"],
    [300 * MS, "300ms"],
    [S, "1s"],
    [1.5 * S, "1.5s"],
    [45 * S, "45s"],
    [10 * M, "10m0s"],
    [90 * M, "1h30m0s"],
    [H, "1h0m0s"],
    [D + H + M + S + 1, "25h1m1.001s"],
    [-M, "-1m0s"],
    [4294967296 * S, "1193046h28m16s"],
  ];
  for (const [ms, text] of cases) {
    await t.step(text, () => assert.equal(formatGoDuration(ms), text));
  }
});

// Every case of apimachinery's TestHumanDuration and TestHumanDurationBoundaries.
Deno.test("humanDuration() matches apimachinery's HumanDuration", async (t) => {
  const Y = 365 * D;
  const cases: [number, string][] = [
    [S, "1s"],
    [70 * S, "70s"],
    [190 * S, "3m10s"],
    [70 * M, "70m"],
    [47 * H, "47h"],
    [49 * H, "2d1h"],
    [(8 * 24 + 2) * H, "8d"],
    [367 * D, "367d"],
    [2 * Y + 25 * H, "2y1d"],
    [8 * Y + 2 * H, "8y"],
    [-2 * S, "<invalid>"],
    [-2 * S + NS, "0s"],
    [0, "0s"],
    [S - MS, "0s"],
    [2 * M - MS, "119s"],
    [2 * M, "2m"],
    [2 * M + S, "2m1s"],
    [10 * M - MS, "9m59s"],
    [10 * M, "10m"],
    [10 * M + S, "10m"],
    [3 * H - MS, "179m"],
    [3 * H, "3h"],
    [3 * H + M, "3h1m"],
    [8 * H - MS, "7h59m"],
    [8 * H, "8h"],
    [8 * H + 59 * M, "8h"],
    [2 * D - MS, "47h"],
    [2 * D, "2d"],
    [2 * D + H, "2d1h"],
    [8 * D - MS, "7d23h"],
    [8 * D, "8d"],
    [8 * D + 23 * H, "8d"],
    [2 * Y - MS, "729d"],
    [2 * Y, "2y"],
    [2 * Y + 23 * H, "2y"],
    [2 * Y + 23 * H + 59 * M, "2y"],
    [2 * Y + D - MS, "2y"],
    [2 * Y + D, "2y1d"],
    [3 * Y, "3y"],
    [4 * Y, "4y"],
    [5 * Y, "5y"],
    [6 * Y, "6y"],
    [7 * Y, "7y"],
    [8 * Y - MS, "7y364d"],
    [8 * Y, "8y"],
    [8 * Y + 364 * D, "8y"],
    [9 * Y, "9y"],
  ];
  for (const [ms, text] of cases) {
    await t.step(`${ms}ms is ${text}`, () => assert.equal(humanDuration(ms), text));
  }
});

Deno.test("compactDuration() drops zero units", async (t) => {
  const cases: [number, string][] = [
    [0, "0s"],
    [999, "0s"],
    [45 * S, "45s"],
    [10 * M, "10m"],
    [H, "1h"],
    [90 * M, "1h30m"],
    [D, "24h"],
    [2 * D, "2d"],
    [2 * D + 3 * H, "2d3h"],
    [365 * D, "365d"],
  ];
  for (const [ms, text] of cases) {
    await t.step(text, () => assert.equal(compactDuration(ms), text));
  }
});

Deno.test("relativeTime() and expiryPhrase() say which side of now a time is", async (t) => {
  const now = new Date("2026-11-29T01:13:00Z");
  const cases: [string, string, string][] = [
    ["2026-11-29T02:00:00Z", "in 47m", "expires in 47m"],
    ["2026-11-28T22:13:00Z", "3h ago", "expired 3h ago"],
    ["2026-11-29T01:13:00Z", "0s ago", "expired 0s ago"],
    ["2026-12-01T04:13:00Z", "in 2d3h", "expires in 2d3h"],
  ];
  for (const [iso, relative, expiry] of cases) {
    await t.step(iso, () => {
      assert.equal(relativeTime(new Date(iso), now), relative);
      assert.equal(expiryPhrase(new Date(iso), now), expiry);
    });
  }
});

Deno.test("rfc3339() writes UTC with whole seconds", async (t) => {
  const cases: [number, string][] = [
    [Date.UTC(2026, 10, 29, 1, 0, 0), "2026-11-29T01:00:00Z"],
    [Date.UTC(2026, 10, 29, 1, 0, 0, 999), "2026-11-29T01:00:00Z"],
    [0, "1970-01-01T00:00:00Z"],
    [Date.parse("0099-01-01T00:00:00Z"), "0099-01-01T00:00:00Z"],
  ];
  for (const [ms, text] of cases) {
    await t.step(text, () => assert.equal(rfc3339(new Date(ms)), text));
  }
  assert.throws(() => rfc3339(new Date(NaN)), RangeError);
});
