import assert from "node:assert/strict";
import { fileError, fileErrorDetail } from "../../src/fs/file_error.ts";

Deno.test("fileErrorDetail() gives a short reason without the runtime's text", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    const cases: [string, string, string][] = [
      ["a missing file", `${dir}/missing`, "no such file or directory"],
      ["a folder", dir, "is a directory"],
      ["a file used as a folder", `${dir}/file/sub`, "a part of the path is not a directory"],
    ];
    for (const [name, path, want] of cases) {
      await t.step(name, async () => {
        const e = await Deno.readTextFile(path).then(() => undefined, (e) => e);
        assert.ok(e instanceof Error);
        assert.equal(fileErrorDetail(e), want);
        assert.equal(
          fileError(`read key set "${path}"`, e).message,
          `Cannot read key set "${path}": ${want}`,
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileErrorDetail() strips os error codes and syscall names from unknown errors", () => {
  const e = new Error("Something odd happened (os error 99): readfile '/etc/x'");
  assert.equal(fileErrorDetail(e), "something odd happened");
  const node = new Error("EBADF: bad file descriptor, open '/x'");
  assert.equal(fileErrorDetail(node), "bad file descriptor");
});
