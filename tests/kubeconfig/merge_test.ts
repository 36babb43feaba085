import assert from "node:assert/strict";
import { mergeKubeconfigs } from "../../src/kubeconfig/merge.ts";
import type { KubeconfigFile } from "../../src/kubeconfig/types.ts";

function file(path: string, extra: Partial<KubeconfigFile>): KubeconfigFile {
  return { path, clusters: [], users: [], contexts: [], ...extra };
}

Deno.test("mergeKubeconfigs() keeps the first definition of each name, whole", () => {
  const merged = mergeKubeconfigs([
    file("/a", {
      clusters: [{ name: "c", cluster: { server: "https://a" } }],
      users: [{ name: "u", user: { token: "from-a" } }],
    }),
    file("/b", {
      clusters: [
        { name: "c", cluster: { server: "https://b", certificateAuthority: "/b/ca.crt" } },
        { name: "only-b", cluster: { server: "https://only-b" } },
      ],
      users: [{ name: "u", user: { token: "from-b", username: "not merged" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    }),
  ]);
  assert.deepEqual(merged.files, ["/a", "/b"]);
  // Not merged field by field: the second "c" brings nothing, not even its CA.
  assert.deepEqual(merged.clusters.get("c"), {
    name: "c",
    value: { server: "https://a" },
    file: "/a",
  });
  assert.equal(merged.clusters.get("only-b")?.file, "/b");
  assert.deepEqual(merged.users.get("u"), { name: "u", value: { token: "from-a" }, file: "/a" });
  assert.equal(merged.contexts.get("x")?.file, "/b");
});

Deno.test("mergeKubeconfigs() takes current-context from the first file that sets it", async (t) => {
  const cases: [string, (string | undefined)[], string | undefined][] = [
    ["only the second file", [undefined, "second"], "second"],
    ["both", ["first", "second"], "first"],
    ["an empty one is not set", ["", "second"], "second"],
    ["none", [undefined, undefined], undefined],
  ];
  for (const [name, contexts, expected] of cases) {
    await t.step(name, () => {
      const files = contexts.map((currentContext, i) => file(`/${i}`, { currentContext }));
      assert.equal(mergeKubeconfigs(files).currentContext, expected);
    });
  }
});

Deno.test("mergeKubeconfigs() of no files is empty", () => {
  const merged = mergeKubeconfigs([]);
  assert.deepEqual(merged.files, []);
  assert.equal(merged.clusters.size + merged.users.size + merged.contexts.size, 0);
  assert.equal(merged.currentContext, undefined);
});
