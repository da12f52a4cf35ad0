/**
 * `pflow registry list|describe`.
 * @module
 */
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { parseCommand, UsageError } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { writeStdout } from "./terminal.ts";

/** Runs `pflow registry …`; returns the exit code. */
export function registryCommand(argv: string[], _env: CommandEnv): number {
  const parsed = parseCommand(argv, { command: "registry", flags: {} });
  const [action, ...args] = parsed.positionals;
  if (parsed.values.help || action === undefined) return showHelp("registry", { asked: parsed.values.help === true });
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const registry = new NodeRegistry(BUILTIN_NODES);
  if (action === "list") {
    if (args.length > 0) throw new UsageError("usage: pflow registry list [--json]", "registry");
    const specs = registry.specs();
    if (json) {
      writeStdout(`${JSON.stringify(specs, null, 2)}\n`);
    } else {
      const width = Math.max(...specs.map((s) => s.type.length));
      writeStdout(`${specs.map((s) => `${s.type.padEnd(width)}  ${s.description}`).join("\n")}\n`);
    }
    return EXIT.ok;
  }
  if (action === "describe") {
    if (args.length !== 1) throw new UsageError("usage: pflow registry describe TYPE [--json]", "registry");
    const spec = registry.get(args[0])?.spec;
    if (spec === undefined) throw new UsageError(registry.unknownTypeMessage(args[0]), "registry");
    if (json) {
      writeStdout(`${JSON.stringify(spec, null, 2)}\n`);
      return EXIT.ok;
    }
    const lines = [`${spec.type}: ${spec.description}`, "", "params:"];
    for (const [name, p] of Object.entries(spec.params)) {
      const flags = [
        [p.type].flat().join("|"),
        p.required ? "required" : p.default !== undefined ? `default ${JSON.stringify(p.default)}` : "optional",
      ];
      lines.push(`  ${name} (${flags.join(", ")}): ${p.description}`);
    }
    lines.push("", "outputs:");
    for (const [name, o] of Object.entries(spec.outputs)) lines.push(`  ${name} (${o.type}): ${o.description}`);
    lines.push("", `actions: default${(spec.actions ?? []).map((a) => `, ${a}`).join("")}`);
    writeStdout(`${lines.join("\n")}\n`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown registry command '${action}': use list or describe`, "registry");
}
