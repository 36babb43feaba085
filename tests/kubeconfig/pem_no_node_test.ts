/**
 * The client-certificate checks and the certificate's interpretation load no `node:crypto` for
 * the usual keys and certificates (#12): a child Deno runs them with `node:crypto` mapped to a
 * module that throws when it loads. A mismatched pair, which node:crypto decides, shows that
 * the mapping bites.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateKey, makeCert, spkiOf, toPem } from "../encoding/_fixtures.ts";

const POISON = "node:crypto was loaded";

const script = `
import { checkCaBundle, checkKeyPair } from "${
  new URL("../../src/kubeconfig/_pem.ts", import.meta.url).href
}";
import { certificateInterpretation } from "${
  new URL("../../src/credential/interpret.ts", import.meta.url).href
}";
const cases = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
const fail = (detail) => new Error(detail);
for (const c of cases) {
  let result = "ok";
  try {
    await checkCaBundle(c.certPem, "ca", fail);
    await checkKeyPair(c, { cert: "cert", key: "key" }, fail);
    const it = await certificateInterpretation(c.certPem);
    if (it.user?.username !== "alice") result = "wrong user " + it.user?.username;
  } catch (e) {
    result = e.message;
  }
  console.log(JSON.stringify([c.name, result]));
}
`;

Deno.test("checkKeyPair(), checkCaBundle() and certificateInterpretation() load no node:crypto for usual keys", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pem-no-node-" });
  try {
    const cases: { name: string; certPem: string; keyPem: string }[] = [];
    const expected: [string, string][] = [];
    for (const type of ["rsa-2048", "ec-P-256", "ec-P-384"] as const) {
      const key = generateKey(type);
      const certPem = toPem(makeCert({ spki: spkiOf(key.publicKey) }), "CERTIFICATE");
      for (const [label, keyPem] of Object.entries(key.pems)) {
        cases.push({ name: `${type} ${label}`, certPem, keyPem });
        expected.push([`${type} ${label}`, "ok"]);
      }
    }
    const other = generateKey("ec-P-256");
    cases.push({
      name: "mismatched pair",
      certPem: cases[0].certPem,
      keyPem: other.pems["PRIVATE KEY"],
    });
    expected.push(["mismatched pair", POISON]);

    await Deno.writeTextFile(
      join(dir, "poison.ts"),
      `throw new Error(${JSON.stringify(POISON)});\n`,
    );
    await Deno.writeTextFile(
      join(dir, "map.json"),
      JSON.stringify({ imports: { "node:crypto": "./poison.ts" } }),
    );
    await Deno.writeTextFile(join(dir, "main.ts"), script);
    await Deno.writeTextFile(join(dir, "cases.json"), JSON.stringify(cases));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-lock",
        "-A",
        "--import-map",
        join(dir, "map.json"),
        join(dir, "main.ts"),
        join(dir, "cases.json"),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
