/**
 * `kubectl token completion bash|zsh|fish|powershell|install`: scripts for the shells and
 * kubectl's `kubectl_complete-token` helper. The `__complete` request they send is answered in
 * src/cli/complete_source.ts.
 */
import { writeFileAtomic } from "../fs/atomic.ts";
import { fileError } from "../fs/file_error.ts";
import type { Runtime } from "../runtime.ts";
import type { CommandContext } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";

/** The hidden command that answers completion requests (cobra's name for it). */
export const COMPLETE_COMMAND = "__complete";

/** The shells `completion` writes scripts for. */
export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;

/** One of {@link SHELLS}. */
export type Shell = typeof SHELLS[number];

/** Print the completion script for `shell`; returns the exit code. */
export function runCompletionScript(ctx: CommandContext, shell: Shell): Promise<number> {
  ctx.runtime.stdout.write(completionScript(shell));
  return Promise.resolve(0);
}

/** The script that makes `shell` complete `kubectl-token` through `__complete`. */
export function completionScript(shell: Shell, program = "kubectl-token"): string {
  const fn = `__${program.replace(/\W/g, "_")}_complete`;
  switch (shell) {
    case "bash":
      return `# bash completion for ${program}; load it with: source <(${program} completion bash)
# For "kubectl token <TAB>" run "kubectl token completion install" instead.
${fn}() {
    local cur="\${COMP_WORDS[COMP_CWORD]}" out directive line
    local -a values=()
    out=$("${program}" ${COMPLETE_COMMAND} "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
    directive=\${out##*:}
    while IFS= read -r line; do
        [[ $line == :* ]] && continue
        values+=("\${line%%$'\\t'*}")
    done <<< "$out"
    (( directive & 1 )) && return
    (( directive & 2 )) && compopt -o nospace 2>/dev/null
    if (( directive & 4 )); then compopt +o default 2>/dev/null; fi
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "\${values[*]}" -- "$cur"))
}
complete -o default -F ${fn} ${program}
`;
    case "zsh":
      return `#compdef ${program}
# zsh completion for ${program}; load it with: source <(${program} completion zsh)
${fn}() {
    local out directive line value
    local -a lines described
    out=$("${program}" ${COMPLETE_COMMAND} "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null) || return
    lines=("\${(@f)out}")
    directive=\${lines[-1]#:}
    for line in "\${(@)lines[1,-2]}"; do
        value=\${line%%$'\\t'*}
        if [[ $line == *$'\\t'* ]]; then
            described+=("\${value//:/\\\\:}:\${line#*$'\\t'}")
        else
            described+=("\${value//:/\\\\:}")
        fi
    done
    (( directive & 1 )) && return 1
    if (( \${#described} )); then
        if (( directive & 2 )); then _describe -t values values described -S ''
        else _describe -t values values described; fi
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
compdef ${fn} ${program}
`;
    case "fish":
      return `# fish completion for ${program}; load it with: ${program} completion fish | source
function ${fn}
    set -l args (commandline -opc)
    set -l out (${program} ${COMPLETE_COMMAND} $args[2..-1] (commandline -ct) 2>/dev/null)
    set -l directive (string replace -r '^:' '' -- $out[-1])
    if test (math "bitand($directive, 1)") -ne 0
        return
    end
    if test (count $out) -gt 1
        printf '%s\\n' $out[1..-2]
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c ${program} -f -a '(${fn})'
`;
    case "powershell":
      return `# PowerShell completion for ${program}; load it with:
#   ${program} completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName '${program}' -ScriptBlock {
    param($WordToComplete, $CommandAst, $CursorPosition)
    $words = @($CommandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($WordToComplete -ne '' -and $words.Count -gt 0) { $words = @($words | Select-Object -SkipLast 1) }
    # Windows PowerShell drops empty arguments to native commands; '""' survives as "".
    $current = if ($WordToComplete -eq '') { '""' } else { $WordToComplete }
    $out = @(& '${program}' ${COMPLETE_COMMAND} @words $current 2>$null)
    if ($out.Count -eq 0) { return }
    $directive = [int]($out[-1] -replace '^:', '')
    if ($directive -band 1) { return }
    $out | Select-Object -SkipLast 1 | ForEach-Object {
        $value, $description = $_ -split "\`t", 2
        if (-not $description) { $description = $value }
        [System.Management.Automation.CompletionResult]::new($value, $value, 'ParameterValue', $description)
    }
}
`;
  }
}

/** Options of `completion install`. */
export interface CompletionInstallOptions {
  /** The folder to write the helper into; default: where `kubectl-token` is on PATH. */
  dir?: string;
}

/**
 * Write `kubectl_complete-token` next to the `kubectl-token` that kubectl runs (krew's bin
 * folder included: krew links one `bin` per plugin and cannot add the helper), or into `dir`.
 */
export async function runCompletionInstall(
  ctx: CommandContext,
  options: CompletionInstallOptions,
): Promise<number> {
  const runtime = ctx.runtime;
  const windows = runtime.platform.os === "windows";
  const sep = windows ? "\\" : "/";
  if (options.dir === "") throw new UsageError('Invalid value "" for flag --dir');
  const name = windows ? "kubectl-token.exe" : "kubectl-token";
  // The helper runs the kubectl-token beside it when there is one, else the one kubectl runs.
  const beside = options.dir && `${options.dir.replace(/[\\/]+$/, "")}${sep}${name}`;
  const plugin = beside && await runtime.exists(beside) ? beside : await findOnPath(runtime, name);
  const dir = options.dir ?? (plugin ? plugin.slice(0, plugin.lastIndexOf(sep)) : undefined);
  if (!dir) {
    throw new CliError(
      'Cannot find "kubectl-token" on PATH: name the folder for the helper with --dir',
    );
  }
  const helper = `${dir.replace(/[\\/]+$/, "")}${sep}kubectl_complete-token${
    windows ? ".cmd" : ""
  }`;
  const target = plugin ?? "kubectl-token";
  const text = windows
    ? `@echo off\r\nrem kubectl's completion helper for the kubectl-token plugin, written by "kubectl token completion install"\r\n"${target}" ${COMPLETE_COMMAND} %*\r\n`
    : `#!/bin/sh\n# kubectl's completion helper for the kubectl-token plugin, written by\n# "kubectl token completion install"; kubectl 1.26+ runs it for "kubectl token <TAB>".\nexec ${
      shellQuote(target)
    } ${COMPLETE_COMMAND} "$@"\n`;
  try {
    await runtime.mkdir(dir, { recursive: true });
    await writeFileAtomic(runtime, helper, text, { forceMode: 0o755 });
  } catch (e) {
    throw fileError(`write completion helper "${helper}"`, e);
  }
  runtime.stdout.write(
    `Wrote ${helper}: "kubectl token <TAB>" completes through kubectl's shell completion ` +
      `(kubectl completion bash|zsh|fish|powershell)\n`,
  );
  const path = (runtime.env("PATH") ?? "").split(windows ? ";" : ":");
  if (!path.includes(dir)) ctx.warn(`"${dir}" is not on PATH, so kubectl will not find the helper`);
  return 0;
}

async function findOnPath(runtime: Runtime, name: string): Promise<string | undefined> {
  const windows = runtime.platform.os === "windows";
  for (const dir of (runtime.env("PATH") ?? "").split(windows ? ";" : ":")) {
    if (!dir) continue;
    const candidate = `${dir.replace(/[\\/]+$/, "")}${windows ? "\\" : "/"}${name}`;
    if (await runtime.exists(candidate)) return candidate;
  }
  return undefined;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}
