import assert from "node:assert/strict";
import nodePath from "node:path";
import * as posix from "../../src/path/posix.ts";
import * as windows from "../../src/path/windows.ts";
import { pathApi, runtimePath } from "../../src/path/platform.ts";
import { mulberry32 as generator } from "../../scripts/_prng.ts";

// Our path rules against node:path (the implementation they replace) on generated inputs.

// Pieces that make the rules branch: separators of both kinds and their runs, dot segments,
// drive letters (relative, absolute, other case), UNC and device roots, reserved names,
// colons elsewhere, names with dots.
const PIECES = [
  "a",
  "b",
  "..",
  ".",
  "",
  "/",
  "\\",
  "//",
  "\\\\",
  "///",
  "C:",
  "c:",
  "c:\\",
  "C:/",
  "D:",
  "d:\\",
  "z:",
  "\\\\server\\share",
  "//server/share",
  "\\\\server\\share\\",
  "//x",
  "\\\\?\\",
  "\\\\.\\dev",
  "//./x",
  "CON:",
  "con",
  "NUL:x",
  "a:b",
  ":",
  ".a",
  "a.",
  "...",
  "a/",
  "a\\",
  "../",
  "..\\",
  "./",
  "x.y",
];

function segment(random: () => number): string {
  const n = 1 + Math.floor(random() * 4);
  let s = "";
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(random() * PIECES.length)];
  return s;
}

function segments(random: () => number): string[] {
  return Array.from({ length: Math.floor(random() * 5) }, () => segment(random));
}

const RUNS = 20_000;

Deno.test("posix and windows match node:path on generated single paths", () => {
  const random = generator(12);
  for (let i = 0; i < RUNS; i++) {
    const p = segment(random);
    const m = `for ${JSON.stringify(p)}`;
    assert.equal(posix.normalize(p), nodePath.posix.normalize(p), `posix.normalize ${m}`);
    assert.equal(posix.dirname(p), nodePath.posix.dirname(p), `posix.dirname ${m}`);
    assert.equal(posix.basename(p), nodePath.posix.basename(p), `posix.basename ${m}`);
    assert.equal(posix.isAbsolute(p), nodePath.posix.isAbsolute(p), `posix.isAbsolute ${m}`);
    assert.equal(windows.normalize(p), nodePath.win32.normalize(p), `windows.normalize ${m}`);
    assert.equal(windows.dirname(p), nodePath.win32.dirname(p), `windows.dirname ${m}`);
    assert.equal(windows.basename(p), nodePath.win32.basename(p), `windows.basename ${m}`);
    assert.equal(windows.isAbsolute(p), nodePath.win32.isAbsolute(p), `windows.isAbsolute ${m}`);
  }
});

Deno.test("join() matches node:path on generated segment lists", () => {
  const random = generator(34);
  for (let i = 0; i < RUNS; i++) {
    const s = segments(random);
    const m = `for ${JSON.stringify(s)}`;
    assert.equal(posix.join(...s), nodePath.posix.join(...s), `posix ${m}`);
    assert.equal(windows.join(...s), nodePath.win32.join(...s), `windows ${m}`);
  }
});

Deno.test("posix resolve() matches node:path for generated segments after an absolute cwd", () => {
  const random = generator(56);
  for (let i = 0; i < RUNS; i++) {
    // An absolute cwd first, as callers pass runtime.cwd(): node:path never reads its own then.
    const cwd = `/${segment(random)}`;
    const s = segments(random);
    assert.equal(
      posix.resolve(cwd, ...s),
      nodePath.posix.resolve(cwd, ...s),
      `for ${JSON.stringify([cwd, ...s])}`,
    );
  }
});

Deno.test("windows resolve() matches node:path with the process's cwd passed as cwd", () => {
  // node:path falls back to the process's cwd (and a drive's, which Deno cannot read): passing
  // that same directory makes the results comparable for every input, drive-relative ones too.
  const cwd = Deno.cwd();
  const random = generator(78);
  for (let i = 0; i < RUNS; i++) {
    const s = segments(random);
    assert.equal(
      windows.resolve(cwd, ...s),
      nodePath.win32.resolve(cwd, ...s),
      `for ${JSON.stringify([cwd, ...s])}`,
    );
  }
});

Deno.test("windows resolve() matches node:path after a drive cwd, for paths on that drive", () => {
  // With no drive but C: (and UNC roots, which are absolute) node:path never needs a cwd of
  // its own, so a Windows-style cwd that is not the process's compares exactly.
  const random = generator(90);
  const otherDrive = /^[a-bd-z]:/i;
  let checked = 0;
  while (checked < RUNS) {
    const cwd = ["C:\\", "c:/", "C:\\work", "c:\\w\\x\\", "C:/a//b"][checked % 5];
    const s = segments(random);
    if (s.some((p) => otherDrive.test(p))) continue;
    checked++;
    assert.equal(
      windows.resolve(cwd, ...s),
      nodePath.win32.resolve(cwd, ...s),
      `for ${JSON.stringify([cwd, ...s])}`,
    );
  }
});

Deno.test("posix resolve() keeps Node's results (Node's own test cases)", async (t) => {
  const cases: [string[], string][] = [
    [["/var/lib", "../", "file/"], "/var/file"],
    [["/var/lib", "/../", "file/"], "/file"],
    [["/some/dir", ".", "/absolute/"], "/absolute"],
    [["/foo/tmp.3/", "../tmp.3/cycles/root.js"], "/foo/tmp.3/cycles/root.js"],
    [["/work", ""], "/work"],
    [["/work", "a", "", "b/"], "/work/a/b"],
    [["/", "..", ".."], "/"],
    [["//a//", "b"], "/a/b"],
  ];
  for (const [[cwd, ...s], expected] of cases) {
    await t.step(JSON.stringify([cwd, ...s]), () => {
      assert.equal(posix.resolve(cwd, ...s), expected);
    });
  }
});

Deno.test("windows resolve() keeps Node's results (Node's own test cases)", async (t) => {
  const cases: [string[], string][] = [
    [["c:/blah\\blah", "d:/games", "c:../a"], "c:\\blah\\a"],
    [["c:/ignore", "d:\\a/b\\c/d", "\\e.exe"], "d:\\e.exe"],
    [["c:/ignore", "c:/some/file"], "c:\\some\\file"],
    [["d:/ignore", "d:some/dir//"], "d:\\ignore\\some\\dir"],
    [["//server/share", "..", "relative\\"], "\\\\server\\share\\relative"],
    [["c:/", "//"], "c:\\"],
    [["c:/", "//dir"], "c:\\dir"],
    [["c:/", "//server/share"], "\\\\server\\share\\"],
    [["c:/", "//server//share"], "\\\\server\\share\\"],
    [["c:/", "///some//dir"], "c:\\some\\dir"],
    [["C:\\foo\\tmp.3\\", "..\\tmp.3\\cycles\\root.js"], "C:\\foo\\tmp.3\\cycles\\root.js"],
    // The cwd's drive: a drive-relative path on it continues the cwd, as typed.
    [["C:\\work", "c:x\\y"], "c:\\work\\x\\y"],
    // Another drive: Node would read "=D:", which Deno cannot, so the drive's root.
    [["C:\\work", "D:x"], "D:\\x"],
    [["C:\\work", "D:"], "D:\\"],
    // A rooted path without a drive takes the cwd's drive.
    [["C:\\work", "\\kube\\config"], "C:\\kube\\config"],
    // A UNC cwd gives no root for another drive: Node leaves the path drive-relative.
    [["\\\\server\\share\\dir", "D:x"], "D:x"],
  ];
  for (const [[cwd, ...s], expected] of cases) {
    await t.step(JSON.stringify([cwd, ...s]), () => {
      assert.equal(windows.resolve(cwd, ...s), expected);
    });
  }
});

Deno.test("resolve() refuses a cwd that is not absolute instead of reading the process's", async (t) => {
  const cases: [string, (cwd: string) => string][] = [
    ["", (cwd) => posix.resolve(cwd, "/a")],
    ["work", (cwd) => posix.resolve(cwd, "/a")],
    ["C:\\work", (cwd) => posix.resolve(cwd, "a")],
    ["", (cwd) => windows.resolve(cwd, "C:\\a")],
    ["C:work", (cwd) => windows.resolve(cwd, "a")],
    ["work", (cwd) => windows.resolve(cwd)],
  ];
  for (const [cwd, call] of cases) {
    await t.step(JSON.stringify(cwd), () => {
      assert.throws(() => call(cwd), {
        name: "TypeError",
        message: `Cannot resolve a path against "${cwd}": it is not absolute`,
      });
    });
  }
});

Deno.test("join(), dirname() and basename() keep Node's results at the edges", async (t) => {
  const cases: [string, string, string][] = [
    [posix.join(), ".", "posix join of nothing"],
    [posix.join("", ""), ".", "posix join of empty segments"],
    [posix.join("/a", "../..", "b/"), "/b/", "posix join above the root"],
    [posix.join("a", "../..", "b"), "../b", "posix join above a relative start"],
    [posix.dirname("//a"), "//", "posix dirname under a double slash"],
    [posix.dirname("/a/b/"), "/a", "posix dirname with a trailing slash"],
    [posix.dirname("a"), ".", "posix dirname of a name"],
    [posix.basename("/a/b//"), "b", "posix basename with trailing slashes"],
    [windows.join("//server", "share"), "\\\\server\\share\\", "windows join into a UNC root"],
    [windows.join("///server", "share"), "\\server\\share", "windows join of three slashes"],
    [windows.join("C:", "a"), "C:\\a", "windows join after a bare drive"],
    [windows.join("x/..", "c:y"), ".\\c:y", "windows join that would become a drive"],
    // Deno's node:path, which these replace, differs from Node's here: only "/" becomes "\".
    [windows.join("CON:", "x/../y"), "CON:\\x\\..\\y", "windows join after a reserved name"],
    [
      windows.normalize("\\\\?\\COM1:\\a\\..\\b"),
      "\\\\?\\COM1:\\b",
      "windows reserved device root",
    ],
    [windows.normalize("\\\\.\\NUL:x/y/../z"), "\\\\?\\NUL:\\x\\z", "windows reserved . root"],
    [windows.dirname("\\\\server\\share"), "\\\\server\\share", "windows dirname of a UNC root"],
    [windows.dirname("\\\\server\\share\\a"), "\\\\server\\share\\", "windows dirname in UNC"],
    [windows.dirname("C:a"), "C:", "windows dirname on a bare drive"],
    [windows.dirname("C:\\a"), "C:\\", "windows dirname under a drive root"],
    [windows.basename("C:a"), "a", "windows basename after a bare drive"],
    [windows.basename("C:\\"), "", "windows basename of a drive root"],
  ];
  for (const [actual, expected, name] of cases) {
    await t.step(name, () => assert.equal(actual, expected));
  }
});

Deno.test("pathApi() and runtimePath() pick the Windows rules only on Windows", () => {
  assert.equal(pathApi(true).join("a", "b"), "a\\b");
  assert.equal(pathApi(false).join("a", "b"), "a/b");
  const platform = { deno: "", v8: "", typescript: "", arch: "x86_64" };
  assert.equal(runtimePath({ platform: { ...platform, os: "windows" } }).join("a", "b"), "a\\b");
  assert.equal(runtimePath({ platform: { ...platform, os: "linux" } }).join("a", "b"), "a/b");
  assert.equal(runtimePath({}).join("a", "b"), "a/b");
});
