/**
 * The program in a minimal container: a chroot holding only the binary, the shared libraries
 * it links (found with ldd), /proc and the service-account mount. No shell, no CA bundle, no
 * HOME, no /etc: `whoami` and `create` must work through in-cluster config alone.
 *
 * The program is KUBECTL_TOKEN_BINARY when set (a `deno compile`d kubectl-token: run this test
 * on a machine with denort to check the real binary). Without it, it is this Deno with the
 * bundle at /app, `deno run /app/mod.js`: the same runtime the compiled binary embeds, in the
 * same kind of root. Needs root (chroot, mount); skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { bundle } from "../../scripts/bundle.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";
import { admin, claims, create, freshNamespace } from "../e2e/_cluster.ts";
import { REAL_TARGET, startTarget } from "../e2e/_target.ts";
import { sh } from "./_stand_in.ts";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The files (absolute paths) the dynamic loader needs for `binary`, per ldd. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await sh("ldd", [binary]);
  if (r.code !== 0) {
    if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
    throw new Error(`ldd ${binary} failed: ${r.stderr}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

async function copyInto(root: string, from: string, to = from): Promise<void> {
  const dest = join(root, to);
  await Deno.mkdir(dirname(dest), { recursive: true });
  await Deno.copyFile(from, dest); // follows symlinks: the library's real bytes under its name
  await Deno.chmod(dest, (await Deno.stat(from)).mode! & 0o777);
}

/**
 * Why the test cannot run here (it then reports as ignored, never as passed), or undefined:
 * it needs Linux, root to chroot and mount /proc, and the local API server on 127.0.0.1.
 */
function cannotRun(): string | undefined {
  if (Deno.build.os !== "linux") return "chroot test runs on Linux";
  if (Deno.uid() !== 0) return "needs root for chroot and mounting /proc";
  if (REAL_TARGET) return "in-cluster config needs the local API server on 127.0.0.1";
  const probe = Deno.makeTempDirSync({ prefix: "kubectl-token-proc-probe-" });
  try {
    const mount = new Deno.Command("mount", { args: ["-t", "proc", "proc", probe] }).outputSync();
    if (mount.code !== 0) return `cannot mount /proc: ${new TextDecoder().decode(mount.stderr)}`;
    new Deno.Command("umount", { args: ["-l", probe] }).outputSync();
    return undefined;
  } catch (e) {
    return `cannot mount /proc: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    Deno.removeSync(probe, { recursive: true });
  }
}

const CANNOT_RUN = cannotRun();
if (CANNOT_RUN) console.log(`chroot test ignored: ${CANNOT_RUN}`);

Deno.test({
  name:
    "in a chroot with only its libraries, /proc and the service-account mount, whoami and create work in-cluster",
  ignore: CANNOT_RUN !== undefined,
}, async (t) => {
  const target = await startTarget();
  const local = target.local;
  if (!local) throw new Error("no local server (the test is ignored on a real one)");
  const root = await Deno.makeTempDir({ prefix: "kubectl-token-chroot-" });
  let mounted = false;
  try {
    // The program.
    const binary = Deno.env.get("KUBECTL_TOKEN_BINARY");
    let program: string[];
    const programEnv: Record<string, string> = {};
    if (binary) {
      await copyInto(root, binary, "/kubectl-token");
      program = ["/kubectl-token"];
    } else {
      await copyInto(root, Deno.execPath(), "/deno");
      await bundle(join(root, "app"), { commit: "chroot-test" });
      program = ["/deno", "run", "--allow-all", "--no-prompt", "--quiet", "--no-config"];
      program.push("--no-lock", `--v8-flags=${V8_FLAGS}`, "/app/mod.js");
      // `deno run` wants a cache folder (a compiled binary does not): keep it inside /app.
      programEnv.DENO_DIR = "/app/.deno";
    }
    for (const lib of await sharedLibraries(binary ?? Deno.execPath())) await copyInto(root, lib);

    // /proc, as a container runtime mounts it.
    await Deno.mkdir(join(root, "proc"));
    const mount = await sh("mount", ["-t", "proc", "proc", join(root, "proc")]);
    assert.equal(mount.code, 0, `cannot mount /proc: ${mount.stderr.trim()}`);
    mounted = true;

    // The service-account mount of a pod running as "robot", allowed to request its tokens.
    const ns = await freshNamespace(target, "chroot");
    await create(target, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "token-requester", namespace: ns },
      rules: [{
        apiGroups: [""],
        resources: ["serviceaccounts/token"],
        verbs: ["create"],
      }],
    });
    await create(target, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "token-requester", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "token-requester" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: ns }],
    });
    const token = (await admin(target, ["create", "token", "robot", "-n", ns])).trim();
    const sa = join(root, SA_DIR);
    await Deno.mkdir(sa, { recursive: true });
    await Deno.writeTextFile(join(sa, "token"), token);
    await Deno.writeTextFile(join(sa, "ca.crt"), local.caPem);
    await Deno.writeTextFile(join(sa, "namespace"), ns);

    // Nothing else is in the root: check it, so the test cannot pass by accident.
    const libs = await sharedLibraries(binary ?? Deno.execPath());
    const allowed = new Set(["proc", "var", ...program.slice(0, 1).map((p) => p.slice(1))]);
    if (!binary) allowed.add("app");
    for (const lib of libs) allowed.add(lib.split("/")[1]);
    for (const entry of Deno.readDirSync(root)) {
      assert.ok(allowed.has(entry.name), `the root holds /${entry.name}`);
    }
    assert.ok(!libs.some((l) => /\/(etc|bin|sbin|home|tmp)\//.test(l)));

    const url = new URL(local.url);
    const run = (args: string[]) =>
      sh("chroot", [root, ...program, ...args], {
        clearEnv: true,
        env: {
          KUBERNETES_SERVICE_HOST: url.hostname,
          KUBERNETES_SERVICE_PORT: url.port,
          NO_COLOR: "1",
          ...programEnv,
        },
      });

    await t.step("whoami", async () => {
      const r = await run(["whoami", "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.match(JSON.stringify(doc), new RegExp(`system:serviceaccount:${ns}:robot`));
    });
    await t.step("create for its own service account", async () => {
      const r = await run(["create", "--duration", "15m", "--audience", "vault"]);
      assert.equal(r.code, 0, r.stderr);
      const c = claims(r.stdout);
      assert.equal(c.sub, `system:serviceaccount:${ns}:robot`);
      assert.deepEqual(c.aud, ["vault"]);
    });
    await t.step("the program is what ran", async () => {
      const r = await run(["version", "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      // The bundle carries the commit it was stamped with; a given binary, its own.
      const commit = JSON.parse(r.stdout).gitCommit;
      if (binary) assert.equal(typeof commit, "string");
      else assert.equal(commit, "chroot-test");
      assert.ok(basename(program[0]).length > 0);
    });
  } finally {
    if (mounted) await sh("umount", ["-l", join(root, "proc")]);
    await target.close();
    await Deno.remove(root, { recursive: true });
  }
});
