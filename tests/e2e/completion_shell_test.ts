import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { pluginBinDir } from "./_cli.ts";
import { create, freshNamespace } from "./_cluster.ts";
import { startTarget } from "./_target.ts";

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

/** Bash functions that complete a command line the way <TAB> does, printing COMPREPLY. */
const COMPLETE_LINE = `
# compopt works only while bash runs a completion for a real <TAB>; here it would fail.
compopt() { builtin compopt "$@" 2>/dev/null || true; }
complete_line() {
    local fn=$1; shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="$*"
    COMP_POINT=\${#COMP_LINE}
    COMPREPLY=()
    "$fn" "$1" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\\n' "\${COMPREPLY[@]}"
}
`;

async function bash(script: string, env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", script],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout);
}

/** Whether a file or a command on PATH exists, known before the tests start. */
function present(path: string): boolean {
  const candidates = path.includes("/")
    ? [path]
    : (Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((d) => join(d, path));
  return candidates.some((p) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

// kubectl's bash completion needs bash-completion (apt-get install bash-completion; .ci/run does
// that): without it the test reports as ignored.
Deno.test({
  name: "in bash with kubectl's completion, kubectl token <TAB> completes through the helper",
  ignore: !present(BASH_COMPLETION),
  fn: async (t) => {
    const target = await startTarget();
    const dir = await Deno.makeTempDir({ prefix: "kubectl-token-bash-" });
    try {
      const bin = join(dir, "bin");
      await Deno.mkdir(bin);
      await Deno.copyFile(join(await pluginBinDir(), "kubectl-token"), join(bin, "kubectl-token"));
      const env = {
        PATH: `${bin}:${dirname(Deno.execPath())}:/usr/local/bin:/usr/bin:/bin`,
        HOME: dir,
        KUBECONFIG: target.kubeconfig,
        KUBECACHEDIR: join(dir, "cache"),
        DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
        NO_COLOR: "1",
      };
      const sa = `tab-${crypto.randomUUID().slice(0, 6)}`;
      await create(target, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: sa, namespace: "default" },
      });
      const setup = `set -e
kubectl token completion install >/dev/null
source ${BASH_COMPLETION}
source <(kubectl completion bash)
set +e
${COMPLETE_LINE}`;

      await t.step("kubectl token cr<TAB>", async () => {
        const out = await bash(`${setup}\ncomplete_line __start_kubectl kubectl token cr`, env);
        assert.equal(out, "create\n");
      });
      await t.step("kubectl token create -n default <TAB>", async () => {
        const out = await bash(
          `${setup}\ncomplete_line __start_kubectl kubectl token create -n default ""`,
          env,
        );
        const words = out.trim().split("\n");
        assert.ok(words.includes(sa) && words.includes("default"), out);
      });
      await t.step("kubectl token create -o <TAB>", async () => {
        const out = await bash(
          `${setup}\ncomplete_line __start_kubectl kubectl token create -o ""`,
          env,
        );
        assert.deepEqual(out.trim().split("\n"), ["token", "json", "yaml", "exec-credential"]);
      });
      await t.step("kubectl token rotate <TAB>", async () => {
        const out = await bash(
          `${setup}\ncomplete_line __start_kubectl kubectl token rotate ""`,
          env,
        );
        assert.deepEqual(out.trim().split("\n"), ["secret", "bootstrap"]);
      });
    } finally {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("kubectl token completion bash completes kubectl-token run directly", async (t) => {
  const target = await startTarget();
  try {
    const ns = await freshNamespace(target, "bash");
    const env = {
      PATH: `${await pluginBinDir()}:${dirname(Deno.execPath())}:/usr/bin:/bin`,
      HOME: "/nonexistent",
      KUBECONFIG: target.kubeconfig,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
    };
    // No bash-completion here: the script needs only bash.
    const setup = `source <(kubectl-token completion bash)\n${COMPLETE_LINE}`;
    const cases: [string, string[]][] = [
      ["kubectl-token cr", ["create"]],
      ["kubectl-token completion ", ["bash", "zsh", "fish", "powershell", "install"]],
      [`kubectl-token create -n ${ns} `, ["robot"]],
      ["kubectl-token create --bound-object-kind S", ["Secret"]],
      ["kubectl-token revoke ", ["secret", "bootstrap", "token", "issued"]],
      [`kubectl-token kubeconfig ${ns}/r`, [`${ns}/robot`]],
    ];
    for (const [line, expected] of cases) {
      await t.step(`${line}<TAB>`, async () => {
        const words = line.split(" ").map((w) => `'${w}'`).join(" ");
        const out = await bash(`${setup}\ncomplete_line __kubectl_token_complete ${words}`, env);
        assert.deepEqual(out.trim().split("\n").filter((w) => w !== "default"), expected);
      });
    }
  } finally {
    await target.close();
  }
});

Deno.test("the zsh, fish and powershell scripts name kubectl-token and parse where the shell exists", async (t) => {
  for (
    const [shell, check] of [
      ["zsh", ["zsh", "-n"]],
      ["fish", ["fish", "--no-execute"]],
      ["powershell", ["pwsh", "-NoProfile", "-Command", "-"]],
    ] as const
  ) {
    const script = async () => {
      const out = await new Deno.Command(join(await pluginBinDir(), "kubectl-token"), {
        args: ["completion", shell],
        stdout: "piped",
      }).output();
      assert.equal(out.code, 0);
      return out.stdout;
    };
    await t.step(`${shell}: the script names kubectl-token`, async () => {
      assert.match(new TextDecoder().decode(await script()), /kubectl-token["']? __complete/);
    });
    // Ignored (not passed) where the shell is not installed.
    await t.step({
      name: `${shell}: the script parses`,
      ignore: !present(check[0]),
      fn: async () => {
        const child = new Deno.Command(check[0], {
          args: check.slice(1),
          stdin: "piped",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const w = child.stdin.getWriter();
        await w.write(await script());
        await w.close();
        const r = await child.output();
        assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      },
    });
  }
});
