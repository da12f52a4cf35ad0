/**
 * The registry of node types: type name → node class with its spec.
 * @module
 */
import type { NodeClass, NodeSpec } from "../nodes/spec.ts";
import { didYouMean } from "./errors.ts";

/** Node types by name. */
export class NodeRegistry {
  #types = new Map<string, NodeClass>();

  /** @param classes node classes to register */
  constructor(classes: Iterable<NodeClass> = []) {
    for (const cls of classes) this.register(cls);
  }

  /**
   * Adds a node class under `cls.spec.type` (replacing one of the same name).
   * A class without a `static spec` naming its type throws a TypeError that names the class.
   */
  register(cls: NodeClass): this {
    const spec = (cls as { spec?: Partial<NodeSpec> } | undefined)?.spec;
    if (typeof spec?.type !== "string" || spec.type === "") {
      const name = typeof cls === "function" && cls.name !== "" ? `class ${cls.name}` : `${String(cls)}`;
      const what = spec === undefined || spec === null ? "has no static spec" : "has a spec without a type";
      throw new TypeError(
        `NodeRegistry: ${name} ${what}; a node class declares \`static spec = { type, description, params, outputs }\``,
      );
    }
    this.#types.set(spec.type, cls);
    return this;
  }

  /** The class of `type`, or undefined. */
  get(type: string): NodeClass | undefined {
    return this.#types.get(type);
  }

  /** Every spec, sorted by type name. */
  specs(): NodeSpec[] {
    return [...this.#types.values()].map((c) => c.spec).sort((a, b) => a.type.localeCompare(b.type));
  }

  /** Type names. */
  types(): string[] {
    return [...this.#types.keys()].sort();
  }

  /** "unknown node type" message with a suggestion. */
  unknownTypeMessage(type: string): string {
    return `unknown node type '${type}'${didYouMean(type, this.#types.keys())}; known types: ${
      this.types().join(", ")
    }`;
  }
}
