/**
 * How each positional argument and each flag value completes, declared next to the command that
 * defines it:
 *
 * ```ts
 * completes(cmd, {
 *   args: { NAME: Complete.lookup("serviceaccounts") },
 *   flags: { "--duration": Complete.none, "--kubeconfig": Complete.files },
 * });
 * ```
 *
 * Every argument and every flag that takes a value needs a rule, if only `Complete.none`:
 * tests/cli/completion_rules_test.ts walks the whole command tree and names what lacks one.
 * The rules are read by src/cli/complete.ts (the `__complete` protocol); this file stays small
 * because every command definition imports it.
 */
import type { Command } from "@commander-js/extra-typings";

/** Names completion can look up in the cluster or the kubeconfig. */
export type ValueKind =
  | "namespaces"
  | "serviceaccounts"
  /** Legacy token Secrets (type kubernetes.io/service-account-token) of the namespace. */
  | "token-secrets"
  /** Every Secret of the namespace. */
  | "secrets"
  | "pods"
  | "nodes"
  /** IDs of the bootstrap tokens in kube-system (never their secret part). */
  | "bootstrap-token-ids"
  /** The UID of the Pod, Secret or Node given by name. */
  | "pod-uid"
  | "secret-uid"
  | "node-uid"
  | "contexts"
  | "clusters"
  | "users"
  /** The server addresses of the kubeconfig's clusters. */
  | "servers";

/** One completion candidate. */
export interface Candidate {
  value: string;
  description?: string;
}

/** How one argument or flag value completes. */
export type Rule =
  /** Nothing to offer (free text, a duration, a token); the shell offers no files either. */
  | { type: "none" }
  /** Paths: the shell's own file completion. */
  | { type: "files" }
  /** These values. */
  | { type: "values"; values: Candidate[] }
  /** The values the flag's description lists after its last colon ("Output format: a, b"). */
  | { type: "help" }
  /** Names from the cluster or kubeconfig; `nameFlag` gives the object for the *-uid kinds. */
  | { type: "lookup"; kind: ValueKind; nameFlag?: string }
  /** A service account as NAMESPACE/NAME (or, with `bare`, also NAME in the namespace in use). */
  | { type: "service-account"; bare: boolean }
  /** The rule chosen by the value of an earlier positional argument. */
  | { type: "by-arg"; arg: string; rules: Record<string, Rule> }
  /** The rule chosen by the value of a flag given earlier on the line. */
  | { type: "by-flag"; flag: string; rules: Record<string, Rule> };

/** The rules of one command: positional arguments by name, flags by long (else short) name. */
export interface CommandRules {
  args?: Record<string, Rule>;
  flags?: Record<string, Rule>;
}

/** Builders for {@link Rule}s. */
export const Complete = {
  /** No completion, on purpose (free text, durations, numbers, tokens). */
  none: { type: "none" } as Rule,
  /** File names. */
  files: { type: "files" } as Rule,
  /** The values the flag's description lists after its last colon. */
  fromHelp: { type: "help" } as Rule,
  /** Fixed values, each optionally `"value\tdescription"`. */
  values(...values: string[]): Rule {
    return {
      type: "values",
      values: values.map((v) => {
        const [value, description] = v.split("\t");
        return description ? { value, description } : { value };
      }),
    };
  },
  /** Names from the cluster (namespace-aware) or the kubeconfig. */
  lookup(kind: ValueKind, nameFlag?: string): Rule {
    return nameFlag ? { type: "lookup", kind, nameFlag } : { type: "lookup", kind };
  },
  /** NAMESPACE/NAME of a service account; `bare` also offers names in the namespace in use. */
  serviceAccount(options: { bare: boolean }): Rule {
    return { type: "service-account", bare: options.bare };
  },
  /** Pick the rule by the value of the earlier positional argument `arg`. */
  byArg(arg: string, rules: Record<string, Rule>): Rule {
    return { type: "by-arg", arg, rules };
  },
  /** Pick the rule by the value of `flag` ("--bound-object-kind") given earlier. */
  byFlag(flag: string, rules: Record<string, Rule>): Rule {
    return { type: "by-flag", flag, rules };
  },
} as const;

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

const RULES = new WeakMap<AnyCommand, CommandRules>();

/** Attach completion rules to `cmd` (added to any given before); returns `cmd`. */
export function completes<C extends AnyCommand>(cmd: C, rules: CommandRules): C {
  const had = RULES.get(cmd) ?? {};
  RULES.set(cmd, {
    args: { ...had.args, ...rules.args },
    flags: { ...had.flags, ...rules.flags },
  });
  return cmd;
}

/** The rules attached to `cmd` (empty when none were). */
export function rulesOf(cmd: AnyCommand): CommandRules {
  return RULES.get(cmd) ?? {};
}
