/**
 * `echo`: returns its input, optionally after a delay. For examples, tests
 * and benchmarks.
 * @module
 */
import { Node, type RunContext, type Shared, sleep } from "../engine/mod.ts";
import { type NodeSpec, readParams } from "./spec.ts";
import { timed } from "../observability/decorators.ts";

interface EchoParams {
  value: unknown;
  delay_ms: number;
  fail: boolean;
}

/** Writes `params.value` to `output` after `delay_ms`. */
@timed
export class EchoNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "echo",
    description: "Returns its input unchanged, optionally after a delay",
    params: {
      value: { type: "any", description: "The value to return", default: "" },
      delay_ms: { type: "number", description: "Milliseconds to wait first", default: 0 },
      fail: { type: "boolean", description: "Return the `error` action instead of `default`", default: false },
    },
    outputs: {
      output: { type: "any", description: "The value, unchanged" },
    },
    actions: ["error"],
  };

  /** Reads params. */
  override prep(): EchoParams {
    return readParams<EchoParams>(EchoNode.spec, this.params);
  }

  /** Waits, then returns the value. */
  override async exec(p: EchoParams, ctx: RunContext): Promise<unknown> {
    if (p.delay_ms > 0) await sleep(p.delay_ms, ctx.signal);
    return p.value;
  }

  /** Writes `output`. */
  override post(shared: Shared, p: EchoParams, value: unknown): string {
    shared.output = value;
    return p.fail ? "error" : "default";
  }
}
