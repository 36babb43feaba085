/** Small commander helpers shared by the command definitions. */

/** Collect a repeatable flag's values (`--audience a --audience b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
