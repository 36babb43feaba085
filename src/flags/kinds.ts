/** `--kind` style flags: comma lists, repeatable, matched case-insensitively. */
import { UsageError } from "../errors.ts";

/**
 * The kinds named by `values` (`--kind a,b --kind c`), each word looked up lower-cased by
 * `lookup`; undefined when none is given. An unknown word is a usage error listing `allowed`.
 */
export function parseKindList<K>(
  values: string[] | undefined,
  lookup: (word: string) => K | undefined,
  allowed: readonly string[],
): Set<K> | undefined {
  if (!values || values.length === 0) return undefined;
  const kinds = new Set<K>();
  for (const value of values) {
    for (const word of value.split(",")) {
      const kind = lookup(word.trim().toLowerCase());
      if (kind === undefined) {
        throw new UsageError(
          `Invalid value "${word.trim()}" for flag --kind: allowed values are ${
            allowed.join(", ")
          }`,
        );
      }
      kinds.add(kind);
    }
  }
  return kinds;
}
