/**
 * Generates the README's node reference from the node specs, so the docs
 * come from the same declarations as validation and `pflow registry`.
 *
 * `deno run -A tools/node_reference.ts` rewrites the section of README.md
 * between the `<!-- nodes:start -->` and `<!-- nodes:end -->` markers;
 * `tests/docs_test.ts` fails when the README is out of date.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";

const START = "<!-- nodes:start -->";
const END = "<!-- nodes:end -->";

/** The Markdown node reference. */
export function nodeReference(): string {
  const sections = [...BUILTIN_NODES].sort((a, b) => a.spec.type.localeCompare(b.spec.type)).map(({ spec }) => {
    const params = Object.entries(spec.params).map(([name, p]) => {
      const req = p.required
        ? "required"
        : p.default !== undefined
        ? `default \`${JSON.stringify(p.default)}\``
        : "optional";
      return `| \`${name}\` | ${[p.type].flat().join(" \\| ")} | ${req} | ${p.description.replaceAll("|", "\\|")} |`;
    });
    const outputs = Object.entries(spec.outputs).map(([name, o]) =>
      `| \`${name}\` | ${o.type} | ${o.description.replaceAll("|", "\\|")} |`
    );
    const actions = ["default", ...(spec.actions ?? [])].map((a) => `\`${a}\``).join(", ");
    return [
      `### \`${spec.type}\``,
      "",
      `${spec.description}. Actions: ${actions}.`,
      "",
      "| param | type | | description |",
      "|---|---|---|---|",
      ...params,
      "",
      "| output | type | description |",
      "|---|---|---|",
      ...outputs,
    ].join("\n");
  });
  return sections.join("\n\n");
}

/** README text with the generated section replaced. */
export function withReference(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n\n${nodeReference()}\n\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = resolve(import.meta.dirname!, "../README.md");
  writeFileSync(path, withReference(readFileSync(path, "utf8")));
}
