/**
 * Reading kubeconfig text with the yaml package, for what the fast reader (_fast_yaml.ts)
 * declines, and for the messages of invalid YAML. Importing this loads the yaml package
 * (~30 ms), so the reading path imports it only when it is needed.
 */

import { parseDocument, type Tags, YAMLError } from "yaml";
import { CliError } from "../errors.ts";

/** The data of kubeconfig text as go-yaml v2 reads it, or a CliError naming `path`. */
export function readYamlPackage(text: string, path: string): unknown {
  try {
    // kubectl reads YAML through go-yaml v2, which follows YAML 1.1 (yes/no/on/off are booleans)
    // and lets a repeated key override the earlier one.
    const doc = parseDocument(text, {
      version: "1.1",
      uniqueKeys: false,
      prettyErrors: false,
      customTags: goYamlTags,
    });
    const [first] = doc.errors;
    if (first) {
      throw new CliError(`Cannot load kubeconfig "${path}": ${yamlErrorDetail(first, text)}`);
    }
    return doc.toJS();
  } catch (e) {
    if (e instanceof CliError) throw e;
    const detail = e instanceof YAMLError ? yamlErrorDetail(e, text) : `invalid YAML: ${String(e)}`;
    throw new CliError(`Cannot load kubeconfig "${path}": ${detail}`);
  }
}

/**
 * The YAML 1.1 scalars as go-yaml v2 resolves them: a float needs a digit before its exponent
 * or after its point (`e0`, `-e1` and `.` are strings, the yaml library makes them NaN), and
 * sexagesimal numbers (`1:20`) are strings.
 */
function goYamlTags(tags: Tags): Tags {
  const FLOAT = "tag:yaml.org,2002:float";
  return tags.flatMap((tag) => {
    if (typeof tag !== "object" || !("test" in tag) || !tag.test) return [tag];
    if (tag.format === "TIME") return [];
    if (tag.tag === FLOAT && tag.format === "EXP") {
      return [{ ...tag, test: /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$/ }];
    }
    if (tag.tag === FLOAT && tag.test.source.includes("\\.[0-9_]*$")) {
      return [{ ...tag, test: /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)$/ }];
    }
    return [tag];
  });
}

function yamlErrorDetail(e: YAMLError, text: string): string {
  // Only the first line of the library's message: later lines can quote the source, and a
  // kubeconfig holds secrets.
  const message = e.message.split("\n")[0].replace(/[.:]\s*$/, "");
  const offset = e.pos?.[0];
  if (offset === undefined) return `invalid YAML: ${message}`;
  const before = text.slice(0, offset).split("\n");
  const line = before.length;
  const col = before[before.length - 1].length + 1;
  return `invalid YAML at line ${line}, column ${col}: ${message}`;
}
