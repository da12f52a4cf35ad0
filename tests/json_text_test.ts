/**
 * A value made at run time that has no JSON text (util/json_text.ts): nested
 * too deep for the stack, or longer than the longest string, each said as
 * what it is, by a param (nodes/spec.ts) and by a template inside text.
 * @module
 */
import assert from "node:assert/strict";
import { jsonRangeProblem, jsonText, JsonTextError } from "../src/util/json_text.ts";
import { NodeError, paramJson } from "../src/nodes/spec.ts";
import { compileValue } from "../src/workflow/template.ts";

// Real RangeErrors, made cheaply: JSON text past V8's longest string takes a value of
// about 512 MiB and seconds to build, so a toJSON gives JSON.stringify the error of a
// string that long; a toJSON that recurses overflows the stack as a value nested 200,000 deep does.
const tooLarge = { toJSON: () => "x".repeat(2 ** 30) };
const tooDeep = {
  toJSON(): unknown {
    return [this.toJSON()]; // not a tail call (JavaScriptCore would loop forever)
  },
};

function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

Deno.test("jsonText: JSON text, or a JsonTextError saying whether the value is too large or nested too deep", () => {
  assert.equal(jsonText({ a: [1] }), '{"a":[1]}');
  assert.equal(jsonText({ a: 1 }, 2), '{\n  "a": 1\n}');
  assert.equal(jsonText(undefined), "");
  assert.throws(() => jsonText(tooLarge), (e: unknown) => e instanceof JsonTextError && e.problem === "large");
  assert.throws(() => jsonText(tooDeep), (e: unknown) => e instanceof JsonTextError && e.problem === "deep");
  assert.throws(() => jsonText(nested(200_000)), (e: unknown) => e instanceof JsonTextError && e.problem === "deep");
  // Not a RangeError: thrown as it is.
  assert.throws(() => jsonText({ n: 1n }), TypeError);
});

Deno.test("jsonText indented: a value nested beyond 1,000 levels is refused before any text is made (its text grows with the square of its depth)", () => {
  // nested(999) is 1,000 levels of arrays: indented, as any depth pflow keeps.
  assert.equal(jsonText(nested(999), 2).split("\n").length, 2 * 999 + 1);
  assert.throws(() => jsonText(nested(1000), 2), (e: unknown) => e instanceof JsonTextError && e.problem === "deep");
  // Not indented, the same value is written: only the stack limits it.
  assert.equal(jsonText(nested(1000)).length, 2 * 1001);
  assert.throws(
    () => paramJson(nested(200_000), "content", 2),
    (e: unknown) => e instanceof NodeError && /param 'content'.*nested deeper than 1000 levels/.test(e.message),
  );
});

Deno.test("jsonRangeProblem: the stack is 'deep', the string length 'large' (V8 and JavaScriptCore wordings)", () => {
  const caught = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return error as RangeError;
    }
    throw new Error("did not throw");
  };
  const length = caught(() => "x".repeat(2 ** 30)); // V8: Invalid string length
  const stack = caught(function recurse(): unknown {
    return [recurse()];
  }); // Maximum call stack size exceeded
  assert.equal(jsonRangeProblem(length, []), "large");
  assert.equal(jsonRangeProblem(stack, []), "deep");
  assert.equal(jsonRangeProblem(new RangeError("Out of memory"), []), "large", "JavaScriptCore's length error");
  // Another wording: judged by how deep the value is.
  assert.equal(jsonRangeProblem(new RangeError("something else"), nested(1001)), "deep");
  assert.equal(jsonRangeProblem(new RangeError("something else"), nested(10)), "large");
});

Deno.test("a param given as JSON that has none names the param and says too large or too deep", () => {
  assert.throws(
    () => paramJson(tooLarge, "body"),
    (e: unknown) =>
      e instanceof NodeError &&
      e.message ===
        "param 'body' cannot be written as JSON: its value is too large (its JSON text would be longer than the longest string)",
  );
  assert.throws(
    () => paramJson(tooDeep, "content"),
    (e: unknown) =>
      e instanceof NodeError &&
      e.message ===
        "param 'content' cannot be written as JSON: its value is nested deeper than 1000 levels of arrays and objects",
  );
});

Deno.test("a template inside text whose value has no JSON text names the template and says too large or too deep", () => {
  const text = (v: unknown) => compileValue("got ${v}")!({ root: { v } });
  assert.throws(
    () => text(tooLarge),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === "${v} is too large to write into text (its JSON text would be longer than the longest string)",
  );
  assert.throws(
    () => text(tooDeep),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        "${v} is nested deeper than 1000 levels of arrays and objects, too deep to write into text; flatten it",
  );
});
