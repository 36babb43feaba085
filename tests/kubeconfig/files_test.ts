import assert from "node:assert/strict";
import { kubeconfigPaths, readKubeconfigFiles } from "../../src/kubeconfig/files.ts";
import { rejectsWith, testRuntime, withTempDir, writeFiles } from "./_helpers.ts";

Deno.test("kubeconfigPaths() picks files the way kubectl does", async (t) => {
  await withTempDir(async (dir) => {
    const f = await writeFiles(dir, {
      "home/.kube/config": "",
      "a.yaml": "",
      "b.yaml": "",
      "work/rel.yaml": "",
    });
    const home = `${dir}/home`;
    const cases: [string, { env?: Record<string, string>; kubeconfig?: string }, string[]][] = [
      ["home file without KUBECONFIG", {}, [f["home/.kube/config"]]],
      ["KUBECONFIG in order, missing skipped", {
        env: { KUBECONFIG: `${f["b.yaml"]}:${dir}/missing.yaml:${f["a.yaml"]}` },
      }, [f["b.yaml"], f["a.yaml"]]],
      ["duplicates and empty entries removed", {
        env: { KUBECONFIG: `::${f["a.yaml"]}:${f["a.yaml"]}::${f["b.yaml"]}` },
      }, [f["a.yaml"], f["b.yaml"]]],
      ["relative entries resolve against cwd", { env: { KUBECONFIG: "rel.yaml" } }, [
        f["work/rel.yaml"],
      ]],
      ["KUBECONFIG replaces the home file even when all its files are missing", {
        env: { KUBECONFIG: `${dir}/missing.yaml` },
      }, []],
      ["KUBECONFIG of only separators names nothing", { env: { KUBECONFIG: ":" } }, []],
      ["an empty KUBECONFIG counts as unset", { env: { KUBECONFIG: "" } }, [
        f["home/.kube/config"],
      ]],
      ["--kubeconfig alone", { env: { KUBECONFIG: f["a.yaml"] }, kubeconfig: f["b.yaml"] }, [
        f["b.yaml"],
      ]],
      ["--kubeconfig relative to cwd", { kubeconfig: "rel.yaml" }, [f["work/rel.yaml"]]],
    ];
    for (const [name, { env, kubeconfig }, expected] of cases) {
      await t.step(name, async () => {
        const runtime = testRuntime({ env, home, cwd: `${dir}/work` });
        assert.deepEqual(await kubeconfigPaths(runtime, { kubeconfig }), expected);
      });
    }
    await t.step("no home file, no KUBECONFIG: nothing", async () => {
      const runtime = testRuntime({ home: `${dir}/nohome` });
      assert.deepEqual(await kubeconfigPaths(runtime, {}), []);
    });
  });
});

Deno.test("kubeconfigPaths() rejects a --kubeconfig file that does not exist", async () => {
  await withTempDir(async (dir) => {
    await rejectsWith(
      () => kubeconfigPaths(testRuntime({ cwd: dir }), { kubeconfig: "nope.yaml" }),
      new RegExp(
        `^Cannot read kubeconfig "${dir}/nope.yaml" given by "--kubeconfig": no such file`,
      ),
    );
  });
});

Deno.test("kubeconfigPaths() splits KUBECONFIG on ';' on Windows", async () => {
  const seen: string[] = [];
  const runtime = {
    ...testRuntime({ env: { KUBECONFIG: "C:\\a\\config;D:\\b\\config;rel\\config" } }),
    cwd: () => "C:\\work",
    exists: (path: string) => {
      seen.push(path);
      return Promise.resolve(true);
    },
    platform: { deno: "", v8: "", typescript: "", os: "windows", arch: "x86_64" },
  };
  assert.deepEqual(await kubeconfigPaths(runtime, {}), [
    "C:\\a\\config",
    "D:\\b\\config",
    "C:\\work\\rel\\config",
  ]);
});

Deno.test("readKubeconfigFiles() names the file it cannot read", async () => {
  await withTempDir(async (dir) => {
    await rejectsWith(
      () => readKubeconfigFiles(testRuntime(), [dir]),
      new RegExp(`^Cannot read kubeconfig "${dir}": `),
    );
  });
});
