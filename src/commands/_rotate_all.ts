/**
 * `rotate --all`: every token user of a kubeconfig, or of each file of a folder, that is due
 * (`--if-expires-within`), decided at one instant, then issued, checked and written with one
 * write per kubeconfig; a summary table says what happened to each user.
 */
import { join as joinPath, resolve as resolvePath } from "node:path";
import { CommandContext } from "../context.ts";
import type { ConnectionFlags, MergedKubeconfig } from "../kubeconfig/types.ts";
import { CliError, UsageError } from "../errors.ts";
import { expiryPhrase, formatGoDuration } from "../output/duration.ts";
import { renderTable } from "../output/printers.ts";
import { updateKubeconfigFile } from "../kubeconfig/write.ts";
import { kubeconfigPaths, readKubeconfigFiles } from "../kubeconfig/files.ts";
import { mergeKubeconfigs } from "../kubeconfig/merge.ts";
import type { IssuedEntry } from "../registry/issued.ts";
import { discardSuccessor, retireEntry } from "./_rotate_revocable.ts";
import type { RevocableToken } from "./_issue_revocable.ts";
import {
  expiredError,
  issueToken,
  NotRotatable,
  planUser,
  type Requester,
  requesterFor,
  rewriteTokenFile,
  tokenChange,
  type UserPlan,
} from "./_rotate_kubeconfig.ts";
import type { ExpiryThreshold, RotateRequest } from "./rotate.ts";

/** Whether a token is due at `now`, and how the summary says so. Due at the threshold itself. */
export function rotationDue(
  token: { expiresAt: Date; lifetimeSeconds?: number },
  within: ExpiryThreshold,
  now: Date,
): { due: boolean; detail: string } {
  const left = token.expiresAt.getTime() - now.getTime();
  const limit = within.kind === "duration"
    ? within.ms
    : within.fraction * (token.lifetimeSeconds ?? 0) * 1000;
  const due = left <= limit;
  return {
    due,
    detail: `${expiryPhrase(token.expiresAt, now)} (${due ? "" : "not "}within ${within.text})`,
  };
}

/** One line of the summary table. */
interface SummaryRow {
  file: string;
  user: string;
  serviceAccount: string;
  result: "rotated" | "skipped" | "failed" | "due";
  detail: string;
}

/** Kubeconfig files read together (one merged view), and the --kubeconfig that selects them. */
interface KubeconfigSet {
  files: string[];
  kubeconfig?: string;
}

/** `rotate --all`: rotate every due token user, then print the summary; returns the exit code. */
export async function rotateAll(
  ctx: CommandContext,
  request: Extract<RotateRequest, { kind: "all" }>,
): Promise<number> {
  const flags = ctx.flags;
  if (flags.token) {
    throw new UsageError(
      "Flag --token cannot be used with rotate: it rotates the tokens stored in the kubeconfig",
    );
  }
  for (
    const [flag, set] of [["--context", flags.context], ["--user", flags.user], [
      "--cluster",
      flags.cluster,
    ]]
  ) {
    if (set) {
      throw new UsageError(
        `Flag ${flag} cannot be used with --all: it rotates every token user of the kubeconfig`,
      );
    }
  }
  const runtime = ctx.runtime;
  const now = runtime.now();
  const { sets, folder } = await kubeconfigSets(ctx);
  if (folder && request.requester?.context !== undefined && !request.requester.kubeconfig) {
    throw new UsageError(
      `Flag --requester-context needs --requester-kubeconfig when --kubeconfig is a folder ` +
        `("${folder}")`,
    );
  }
  const requester = requesterFor(ctx, request.requester);
  await requester?.ctx.config();
  const rows: SummaryRow[] = [];
  const failures: string[] = [];
  const opened: CommandContext[] = [];
  const fail = (row: SummaryRow, e: unknown) => {
    row.result = "failed";
    row.detail = oneLine(e instanceof Error ? e.message : String(e));
    failures.push(`${row.user ? `user "${row.user}" in ` : ""}"${row.file}": ${row.detail}`);
  };
  try {
    // First decide for every user, all at the same instant; then talk to the clusters.
    const due: { plan: UserPlan; row: SummaryRow }[] = [];
    for (const set of sets) {
      let merged: MergedKubeconfig;
      try {
        merged = mergeKubeconfigs(await readKubeconfigFiles(runtime, set.files));
      } catch (e) {
        const row: SummaryRow = {
          file: set.files.join(":"),
          user: "",
          serviceAccount: "",
          result: "failed",
          detail: "",
        };
        fail(row, e);
        rows.push(row);
        continue;
      }
      const contexts = [...merged.contexts.values()];
      for (const user of merged.users.values()) {
        const row: SummaryRow = {
          file: user.file,
          user: user.name,
          serviceAccount: "<none>",
          result: "skipped",
          detail: "",
        };
        rows.push(row);
        // The user's cluster is where the new token must work: the first context that uses it.
        const context = contexts.find((c) => c.value.user === user.name);
        if (!context) {
          row.detail = "no context uses it, so its cluster is unknown";
          continue;
        }
        const connection: ConnectionFlags = { context: context.name };
        if (set.kubeconfig !== undefined) connection.kubeconfig = set.kubeconfig;
        if (flags.requestTimeout !== undefined) connection.requestTimeout = flags.requestTimeout;
        const target = new CommandContext(runtime, connection, ctx.verbosity);
        opened.push(target);
        let plan: UserPlan;
        try {
          plan = await planUser(target, request, now);
        } catch (e) {
          if (e instanceof NotRotatable) row.detail = e.reason;
          else fail(row, e);
          continue;
        }
        row.serviceAccount = `${plan.sa.namespace}/${plan.sa.name}`;
        const expiresAt = plan.report?.expiresAt;
        if (!expiresAt) {
          row.detail = 'its token does not expire (a legacy Secret token: use "rotate secret")';
          continue;
        }
        if (request.within.kind === "fraction" && plan.report?.lifetimeSeconds === undefined) {
          row.detail = `its token has no issue time, so ${request.within.text} of its lifetime ` +
            `is unknown: use --if-expires-within DURATION`;
          continue;
        }
        const decision = rotationDue(
          { expiresAt, lifetimeSeconds: plan.report?.lifetimeSeconds },
          request.within,
          now,
        );
        row.detail = decision.detail;
        if (!decision.due) continue;
        if (plan.seconds === undefined) {
          fail(row, new CliError("its token has no lifetime to copy: give one with --duration"));
          continue;
        }
        if (plan.report?.expired && !requester) {
          fail(row, expiredError(plan, now));
          continue;
        }
        row.result = "due";
        due.push({ plan, row });
      }
    }
    if (request.dryRun) {
      for (const { row } of due) row.detail += "; not rotated (dry run)";
    } else {
      await rotateDue(due, requester, { ...request, now }, fail);
    }
  } finally {
    await requester?.ctx.close();
    for (const target of opened) await target.close();
  }
  if (rows.length === 0) {
    runtime.stderr.write(
      `No users found in ${sets.flatMap((s) => s.files).map((f) => `"${f}"`).join(", ")}\n`,
    );
    return 0;
  }
  runtime.stdout.write(
    renderTable(
      ["FILE", "USER", "SERVICE-ACCOUNT", "RESULT", "DETAIL"],
      rows.map((r) => [r.file, r.user, r.serviceAccount, r.result, r.detail]),
    ),
  );
  if (failures.length > 0) {
    throw new CliError(
      `Cannot rotate ${failures.length} of ${rows.length} users: ${failures.join("; ")}`,
    );
  }
  return 0;
}

/**
 * Issue and check every due token, then write each kubeconfig once, under one lock; last, once
 * every file is written and its lock released, wait --grace once and revoke the old registry
 * entries of the revocable tokens that were replaced.
 */
async function rotateDue(
  due: { plan: UserPlan; row: SummaryRow }[],
  requester: Requester | undefined,
  options: { backup: boolean; graceMs: number; now: Date },
  fail: (row: SummaryRow, e: unknown) => void,
): Promise<void> {
  const { backup, now } = options;
  interface Issued {
    plan: UserPlan;
    row: SummaryRow;
    token: string;
    expiresAt?: Date;
    /** The identity that issued the token, and so retires or discards its entries. */
    asker: CommandContext;
    revocable?: RevocableToken;
    previous?: IssuedEntry;
  }
  const retire: Issued[] = [];
  const done = (entry: Issued) => {
    const { row, expiresAt } = entry;
    row.result = "rotated";
    row.detail = (expiresAt ? `new token ${expiryPhrase(expiresAt, now)}` : "new token") +
      `; the old one ${row.detail}`;
    if (entry.revocable && entry.previous) {
      row.detail += `; revocable: the new token is issued token "${entry.revocable.entry.name}"`;
      retire.push(entry);
    }
  };
  const undo = async (entry: Issued) => {
    if (entry.revocable) await discardSuccessor(entry.asker, entry.revocable);
  };
  const byFile = new Map<string, Issued[]>();
  for (const { plan, row } of due) {
    let entry: Issued;
    try {
      const issued = await issueToken(plan, requester);
      entry = {
        plan,
        row,
        token: issued.token,
        expiresAt: issued.expiresAt,
        asker: requester?.ctx ?? plan.ctx,
        revocable: issued.revocable,
        previous: issued.previous,
      };
    } catch (e) {
      fail(row, e);
      continue;
    }
    if (plan.tokenFile === undefined) {
      byFile.set(plan.file, [...byFile.get(plan.file) ?? [], entry]);
      continue;
    }
    try {
      await rewriteTokenFile(plan.ctx, plan.tokenFile, entry.token, backup);
      done(entry);
      row.detail += ` (token file "${plan.tokenFile}")`;
    } catch (e) {
      await undo(entry);
      fail(row, e);
    }
  }
  for (const [file, entries] of byFile) {
    const { ctx } = entries[0].plan;
    try {
      const result = await updateKubeconfigFile(
        ctx.runtime,
        file,
        entries.map(({ plan, token }) => tokenChange(plan, token)),
        { backup },
      );
      if (result.backupPath) ctx.log(1, `kept the previous kubeconfig as "${result.backupPath}"`);
      entries.forEach(done);
    } catch (e) {
      // Nothing of this file was written: its new entries must not outlive the failure.
      for (const entry of entries) await undo(entry);
      for (const { row } of entries) fail(row, e);
    }
  }
  const stderr = due[0]?.plan.ctx.runtime.stderr;
  if (retire.length === 0) {
    if (options.graceMs > 0 && due.length > 0) {
      due[0].plan.ctx.warn(
        "--grace had no effect: no revocable token was rotated (an old token works until it " +
          "expires)",
      );
    }
    return;
  }
  // One wait for all, outside every lock: the old tokens keep working meanwhile.
  if (options.graceMs > 0) {
    stderr!.write(
      `Revoking ${retire.length} old issued token${retire.length === 1 ? "" : "s"} in ` +
        `${formatGoDuration(options.graceMs)} (--grace)...\n`,
    );
    await due[0].plan.ctx.runtime.sleep(options.graceMs);
  }
  // Two users that held the same token share its entry: it is revoked once.
  const seen = new Set<string>();
  for (const entry of retire) {
    const old = entry.previous!;
    const key = `${old.namespace}/${old.id}/${old.uid ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      await retireEntry(entry.asker, old, 0);
    } catch (e) {
      fail(entry.row, e);
    }
  }
}

/**
 * The kubeconfig files --all works on, as sets read together: `--kubeconfig FILE`; every file
 * of `--kubeconfig DIR`, each on its own (not hidden ones, nor *.bak and *.lock); else the
 * files kubectl would merge (KUBECONFIG, ~/.kube/config).
 */
async function kubeconfigSets(
  ctx: CommandContext,
): Promise<{ sets: KubeconfigSet[]; folder?: string }> {
  const runtime = ctx.runtime;
  const given = ctx.flags.kubeconfig;
  if (given !== undefined) {
    const path = resolvePath(runtime.cwd(), given);
    let info;
    try {
      info = await runtime.stat(path);
    } catch {
      throw new CliError(
        `Cannot read kubeconfig "${path}" given by "--kubeconfig": no such file or directory`,
      );
    }
    if (!info.isDirectory) return { sets: [{ files: [path], kubeconfig: path }] };
    const names = (await runtime.readDir(path)).filter((name) =>
      !name.startsWith(".") && !name.endsWith(".bak") && !name.endsWith(".lock")
    ).sort();
    const sets: KubeconfigSet[] = [];
    for (const name of names) {
      const file = joinPath(path, name);
      if ((await runtime.stat(file).catch(() => undefined))?.isFile) {
        sets.push({ files: [file], kubeconfig: file });
      }
    }
    return { sets, folder: path };
  }
  const files = await kubeconfigPaths(runtime, ctx.flags);
  if (files.length === 0) {
    throw new CliError(
      "Cannot rotate: no kubeconfig file found; name a file or a folder of them with --kubeconfig",
    );
  }
  return { sets: [{ files }] };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, "; ").trim();
}
