import assert from "node:assert/strict";
import {
  compileValue,
  keyTemplateProblem,
  type lookup,
  parseTemplate,
  type TemplateRef,
  templateRefs,
  TemplateSyntaxError,
  UnresolvedTemplateError,
} from "../src/workflow/template.ts";

const scope = {
  root: {
    name: "Ada",
    count: 3,
    fetch: { response: { items: [{ x: 1 }, { x: 2 }] }, status_code: 200 },
    cmd: { stdout: '{"field": "from json", "list": [10, 20]}' },
    nothing: null,
  },
};

const resolve = (value: unknown, s: Parameters<typeof lookup>[1] = scope) => {
  const r = compileValue(value);
  return r ? r(s) : value;
};

Deno.test("a value that is exactly one template keeps the resolved type", () => {
  assert.equal(resolve("${count}"), 3);
  assert.deepEqual(resolve("${fetch.response.items}"), [{ x: 1 }, { x: 2 }]);
  assert.equal(resolve("${fetch.response.items[1].x}"), 2);
  assert.equal(resolve("${nothing}"), null);
});

Deno.test("templates inside text are stringified, objects as JSON", () => {
  assert.equal(resolve("Hi ${name}, ${count} items"), "Hi Ada, 3 items");
  assert.equal(resolve("data: ${fetch.response.items[0]}"), 'data: {"x":1}');
  assert.equal(resolve("[${nothing}]"), "[]");
});

Deno.test("$${ escapes a literal ${", () => {
  assert.equal(resolve("echo $${HOME} ${name}"), "echo ${HOME} Ada");
  assert.equal(resolve("$${HOME}"), "${HOME}");
  assert.deepEqual(parseTemplate("a $${x} b"), ["a ${x} b"]);
  assert.equal(resolve("cost $${"), "cost ${", "with no } after it too");
  assert.equal(resolve("$${ ${name} $${"), "${ Ada ${");
  assert.deepEqual(parseTemplate("a $${ b ${name}"), ["a ${ b ", { source: "${name}", segments: ["name"] }]);
});

Deno.test("before a {, each $$ is one $: an odd run of $ ends in a template, an even one in a literal {", () => {
  const price = { root: { price: 42 } };
  assert.equal(resolve("Total: $$${price}", price), "Total: $42");
  assert.equal(resolve("$$${price}", price), "$42", "one $ and the value: text, not the number");
  assert.equal(resolve("$$$${price}", price), "$${price}");
  assert.equal(resolve("$$$$${price}", price), "$$42");
  assert.equal(resolve("$$$$$${", price), "$$${");
  assert.equal(resolve("${price}$$${price}|$${price}", price), "42$42|${price}");
  assert.deepEqual(parseTemplate("a $$${price} b"), ["a $", { source: "${price}", segments: ["price"] }, " b"]);
  // A $ not before a { is as written: the shell's $$ (its PID), $1, a $ at the end.
  assert.equal(resolve("echo $$ $1 $ $$$x ${price}$", price), "echo $$ $1 $ $$$x 42$");
  assert.throws(() => parseTemplate("cost $$${"), /unclosed template '\$\{'/);
});

Deno.test("object keys are never resolved: a key holding a template throws; a key's escapes are written out", () => {
  for (const value of [{ "${name}": 1 }, { a: [{ "x-${name}": 1 }] }, { "$$${name}": 1 }]) {
    assert.throws(
      () => compileValue(value),
      (e: unknown) =>
        e instanceof TemplateSyntaxError && e.message.startsWith(
          "${name} is in an object key, and templates are " +
            "resolved only in values: write the key out, or give the whole object as one template",
        ),
      JSON.stringify(value),
    );
  }
  assert.throws(() => compileValue({ "${": 1 }), /unclosed template '\$\{'/);
  assert.equal(keyTemplateProblem("plain"), undefined);
  assert.equal(keyTemplateProblem("$${name}"), undefined);
  assert.match(keyTemplateProblem("${name}", "query")!, /as one template naming .* \("query": "\$\{name\}"\)/);
  assert.deepEqual(
    resolve({ "$${x}": "${name}", "a$$b": 1, "$$$${y}": { "$${z}": 2 }, "$${": 3 }),
    { "${x}": "Ada", "a$$b": 1, "$${y}": { "${z}": 2 }, "${": 3 },
  );
  assert.deepEqual(resolve({ "$${x}": 1 }), { "${x}": 1 }, "escapes alone compile too");
  assert.equal(compileValue({ "a$$b": 1, "$x": 2 }), undefined, "nothing to write out: used as is");
  assert.deepEqual(resolve(JSON.parse('{"__proto__": "${name}"}')), JSON.parse('{"__proto__": "Ada"}'));
});

Deno.test("a ${ without a closing } is a syntax error naming it", () => {
  for (
    const [text, shown] of [
      ["x ${a.output.k y ${a.output", "${a.output.k y ${a.output"],
      ["${name} and ${", "${"],
      ["${", "${"],
    ]
  ) {
    assert.throws(
      () => parseTemplate(text),
      (e: unknown) =>
        e instanceof TemplateSyntaxError &&
        e.message === `unclosed template '${shown}': a \${ needs a closing } (write $\${ for a literal \${)`,
      text,
    );
  }
  assert.throws(() => parseTemplate("${" + "x".repeat(100)), /unclosed template '\$\{x{35}\.\.\.'/);
});

Deno.test("[*]: an item that is null or lacks the rest of the path gives null; no item having it is an error", () => {
  const s = { root: { m: { results: [{ content: "a" }, null, { other: 1 }, { content: { n: null } }] } } };
  assert.deepEqual(resolve("${m.results[*].content}", s), ["a", null, null, { n: null }]);
  assert.deepEqual(resolve("${m.results[*].content.n}", s), [null, null, null, null], "a null further down too");
  assert.equal(resolve("xs: ${m.results[*].content}", s), 'xs: ["a",null,null,{"n":null}]');
  assert.deepEqual(resolve("${m.results[*]}", s), [{ content: "a" }, null, { other: 1 }, { content: { n: null } }]);
  assert.deepEqual(resolve("${m.results[*].content}", { root: { m: { results: [null, null] } } }), [null, null]);
  // No item has the key: most likely a misspelt path, named with the item's real index.
  assert.throws(
    () => resolve("${m.results[*].contnet}", s),
    (e: unknown) =>
      e instanceof UnresolvedTemplateError &&
      e.message ===
        "cannot resolve ${m.results[*].contnet}: 'm.results[0]' has no 'contnet' (available: content); " +
          "no item of 'm.results' has it",
  );
  const nested = { root: { a: { rows: [{ cells: [{ v: 1 }, null] }, null, { cells: [{ v: 2 }] }] } } };
  assert.deepEqual(resolve("${a.rows[*].cells[*].v}", nested), [[1, null], null, [2]]);
});

Deno.test("text without templates compiles to nothing (used as is)", () => {
  assert.equal(compileValue("plain $ text {x}"), undefined);
  assert.equal(compileValue(42), undefined);
  assert.equal(compileValue({ a: ["b", { c: "d" }] }), undefined);
});

Deno.test("templates inside nested objects and arrays resolve in place", () => {
  const value = { headers: { Authorization: "Bearer ${name}" }, list: ["${count}", "x"], n: 1 };
  assert.deepEqual(resolve(value), { headers: { Authorization: "Bearer Ada" }, list: [3, "x"], n: 1 });
  assert.deepEqual(value.list, ["${count}", "x"], "the raw value is untouched");
});

Deno.test("a path continues into a string holding JSON", () => {
  assert.equal(resolve("${cmd.stdout.field}"), "from json");
  assert.equal(resolve("${cmd.stdout.list[1]}"), 20);
});

Deno.test("batch variables resolve before root keys", () => {
  const s = { root: scope.root, vars: { item: { id: 7 }, name: "shadow" } };
  assert.equal(resolve("${item.id}-${name}", s), "7-shadow");
});

Deno.test("an unknown root key lists what is available", () => {
  assert.throws(() => resolve("${nam}"), UnresolvedTemplateError);
  assert.throws(
    () => resolve("${nam}"),
    /cannot resolve \$\{nam\}: 'nam' is not in the shared store \(did you mean 'name'\?\) \(available: name, count, fetch, cmd, nothing\)/,
  );
});

Deno.test("a missing key inside a node's namespace names it and lists the keys there", () => {
  assert.throws(
    () => resolve("${fetch.respons}"),
    /cannot resolve \$\{fetch\.respons\}: 'fetch' has no 'respons' \(available: response, status_code\)/,
  );
});

Deno.test("an index past the end says how many items there are", () => {
  assert.throws(() => resolve("${fetch.response.items[5].x}"), /'fetch\.response\.items' has 2 items, no \[5\]/);
  assert.throws(() => resolve("${name[0]}"), /'name' is a string, not a list, no \[0\]/);
});

Deno.test("invalid template syntax is a TemplateSyntaxError that shows the escape", () => {
  for (const bad of ["${}", "${a b}", "${a..b}", "${1abc}", "${a.[0]}"]) {
    assert.throws(() => parseTemplate(bad), TemplateSyntaxError, bad);
  }
  assert.throws(() => parseTemplate("${a b}"), /write \$\$\{ for a literal/);
});

Deno.test("templateRefs finds every reference with where it sits", () => {
  const refs = [...templateRefs({ a: "x ${n.k}", b: ["${m[0]}", { c: "$${skip}" }] })];
  assert.deepEqual(refs.map((r) => [r.at, r.ref.source]), [["a", "${n.k}"], ["b[0]", "${m[0]}"]]);
  assert.deepEqual((refs[1].ref as TemplateRef).segments, ["m", 0]);
});

Deno.test("keys with hyphens and underscores are valid path segments", () => {
  const s = { root: { "my-node": { out_key: "v" } } };
  assert.equal(resolve("${my-node.out_key}", s), "v");
});

Deno.test("[*] maps the rest of the path over every item of a list", () => {
  assert.deepEqual(resolve("${fetch.response.items[*].x}"), [1, 2]);
  assert.deepEqual(resolve("${fetch.response.items[*]}"), [{ x: 1 }, { x: 2 }]);
  assert.equal(resolve("xs: ${fetch.response.items[*].x}"), "xs: [1,2]");
  assert.deepEqual(resolve("${cmd.stdout.list[*]}"), [10, 20], "into text holding JSON too");
  const batch = { root: { fan: { results: [{ response: "a", usage: {} }, { response: "b", usage: {} }] } } };
  assert.deepEqual(resolve("${fan.results[*].response}", batch), ["a", "b"]);
  assert.throws(
    () => resolve("${name[*]}"),
    (e: unknown) =>
      e instanceof UnresolvedTemplateError &&
      /'name' is a string, not a list, so \[\*\] has nothing to map/.test((e as Error).message),
  );
  assert.throws(() => resolve("${fetch.response.items[*].y}"), /'fetch\.response\.items\[\*\]' has no 'y'|has no 'y'/);
  assert.deepEqual(parseTemplate("${a.b[*].c}")[0], { source: "${a.b[*].c}", segments: ["a", "b", "*", "c"] });
  assert.throws(() => parseTemplate("${a[**]}"), TemplateSyntaxError);
});

Deno.test("a path into JSON text warns when what it reads holds a number JSON text writes with more digits", () => {
  const warnings: string[] = [];
  const root = {
    x: { stdout: '{"id": 1234567890123456789, "name": "n", "rows": [{"v": 1}, {"v": 12345678901234567890}]}\n' },
  };
  const s = { root, warn: (m: string) => warnings.push(m) };
  // The value keeps its type (a number), and the warning names the template, the path and both readings.
  assert.equal(resolve("${x.stdout.id}", s), 1234567890123456800);
  assert.deepEqual(warnings, [
    `\${x.stdout.id}: 'x.stdout.id' 1234567890123456789 cannot be held exactly by a JSON number here; it reads as ` +
    `1234567890123456800 (write it in the JSON as a string: "1234567890123456789")`,
  ]);
  // Once per warn (a run): a template in a loop warns once.
  resolve("order ${x.stdout.id}", s);
  assert.equal(warnings.length, 1);
  // Paths that do not read it do not warn; a list or object that holds one does, as does [*].
  assert.equal(resolve("${x.stdout.name}", s), "n");
  assert.deepEqual(resolve("${x.stdout.rows[0]}", s), { v: 1 });
  assert.equal(warnings.length, 1);
  resolve("${x.stdout.rows[*].v}", s);
  assert.equal(warnings.length, 2);
  assert.match(warnings[1], /^\$\{x\.stdout\.rows\[\*\]\.v\}: 'x\.stdout\.rows\[1\]\.v' 12345678901234567890 /);
  // Without a warn function (validation, traces) nothing is said, and nothing changes.
  assert.equal(resolve("${x.stdout.id}", { root }), 1234567890123456800);
  // Numbers that print back as written never warn: 0.1, 1.10, 1e3, 9007199254740991.
  const exact: string[] = [];
  resolve("${y.stdout.a}", {
    root: { y: { stdout: '{"a": [0.1, 1.10, 1e3, 9007199254740991, -0.000001234567890123]}' } },
    warn: (m) => exact.push(m),
  });
  assert.deepEqual(exact, []);
});

Deno.test("a path into JSON text warns only about the lossy number it reads, whatever else the text holds", () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const read = (stdout: unknown, path: string) => resolve(`\${x.${path}}`, { root: { x: { stdout } }, warn });
  // 17-digit floats (printed back as written) never warn, whether the path reads them or not.
  const floats = '{"items": [{"id": 7, "price": 0.30000000000000004, "name": "a"}]}';
  assert.equal(read(floats, "stdout.items[0].id"), 7);
  assert.equal(read(floats, "stdout.items[0].price"), 0.30000000000000004);
  assert.equal(warnings.length, 0);
  // A number read that equals what a lossy number elsewhere reads as is exact, and does not warn.
  const same = '{"a": 1, "b": 1.00000000000000001, "z": {"k": 0}, "y": 1e-400}';
  assert.equal(read(same, "stdout.a"), 1);
  assert.deepEqual(read(same, "stdout.z"), { k: 0 });
  assert.equal(warnings.length, 0);
  assert.equal(read(same, "stdout.b"), 1);
  assert.equal(read(same, "stdout.y"), 0);
  assert.deepEqual(warnings, [
    `\${x.stdout.b}: 'x.stdout.b' 1.00000000000000001 cannot be held exactly by a JSON number here; it reads as 1 ` +
    `(write it in the JSON as a string: "1.00000000000000001")`,
    `\${x.stdout.y}: 'x.stdout.y' 1e-400 cannot be held exactly by a JSON number here; it reads as 0 ` +
    `(write it in the JSON as a string: "1e-400")`,
  ]);
  // Another text read by the same run is looked into afresh; JSON text inside JSON text, and items of a list, too.
  warnings.length = 0;
  assert.equal(read('{"id": 12345678901234567891}', "stdout.id"), 12345678901234567000);
  assert.equal(read('{"inner": "{\\"id\\": 1234567890123456789}"}', "stdout.inner.id"), 1234567890123456800);
  assert.deepEqual(read(['{"id": 1}', '{"id": 98765432109876543210}'], "stdout[*].id"), [1, 98765432109876540000]);
  assert.deepEqual(warnings.map((w) => w.slice(0, w.indexOf(" cannot"))), [
    "${x.stdout.id}: 'x.stdout.id' 12345678901234567891",
    "${x.stdout.inner.id}: 'x.stdout.inner.id' 1234567890123456789",
    "${x.stdout[*].id}: 'x.stdout[1].id' 98765432109876543210",
  ]);
});

Deno.test("lossyValues: what every lossy number of JSON text reads as, and never an exact one's value", async () => {
  const { lossyValues } = await import("../src/util/json_numbers.ts");
  const values = lossyValues(
    '{"a": 0.30000000000000004, "b": 1234567890123456789, "c": [1e400, -1.00000000000000001, 1e-400], ' +
      '"d": 9007199254740991, "e": 1.5e300, "f": 0.1000000000000000}',
  );
  assert.deepEqual([...values].sort(), [-1, 0, 1234567890123456800, Infinity].sort());
  assert.equal(lossyValues('{"a": 1.5, "b": [123456789012345, 1e99]}').size, 0);
});

Deno.test("parseJsonNoting locates each number that lost digits, and counts them past the first ten", async () => {
  const { parseJsonNoting, formatJsonPath } = await import("../src/util/json_numbers.ts");
  const { value, lossy, count } = parseJsonNoting(
    '{"a b": [1, {"c": 12345678901234567891}], "d": 1e400, "e": 0.1, "f": "12345678901234567891"}',
  );
  assert.deepEqual(value, { "a b": [1, { c: 12345678901234567891 }], d: Infinity, e: 0.1, f: "12345678901234567891" });
  assert.equal(count, 2);
  assert.deepEqual(lossy.map((n) => [formatJsonPath(n.path), n.source]), [
    ['["a b"][1].c', "12345678901234567891"],
    [".d", "1e400"],
  ]);
  assert.deepEqual(parseJsonNoting("12345678901234567891").lossy.map((n) => n.path), [[]]);
  const many = parseJsonNoting(JSON.stringify(Array(15).fill(0)).replaceAll("0", "12345678901234567891"));
  assert.equal(many.count, 15);
  assert.equal(many.lossy.length, 10);
  assert.deepEqual(parseJsonNoting('{"n": 123456789012345}').lossy, []);
});

Deno.test("a path into text that starts like JSON but is not says it did not parse, and where", () => {
  const fails = (stdout: string, template: string) => {
    try {
      resolve(template, { root: { a: { stdout } } });
    } catch (error) {
      assert.ok(error instanceof UnresolvedTemplateError, String(error));
      return error.message;
    }
    assert.fail(`${template} resolved`);
  };
  assert.equal(
    fails("[1,2] trailing\n", "${a.stdout[1]}"),
    "cannot resolve ${a.stdout[1]}: 'a.stdout' starts like JSON but is not valid JSON (unexpected text after the " +
      "JSON at character 7), so it has no [1]",
  );
  assert.equal(
    fails('{"k": 1 "j": 2}', "${a.stdout.k}"),
    "cannot resolve ${a.stdout.k}: 'a.stdout' starts like JSON but is not valid JSON (expected ',' or '}' at " +
      "character 9), so it has no 'k'",
  );
  assert.match(fails("[1,\n2,\n]\n", "${a.stdout[*]}"), /\(unexpected "\]" at line 3 column 1\), so \[\*\] has/);
  assert.match(fails("[1, 2", "${a.stdout[0]}"), /not valid JSON \(it ends too early\), so it has no \[0\]$/);
  // Text that does not start like JSON is still just text.
  assert.match(fails("1,2", "${a.stdout[0]}"), /'a\.stdout' is a string, not a list, no \[0\]$/);
});

Deno.test("jsonSyntaxError finds an error exactly where JSON.parse refuses, whatever the runtime's wording", async () => {
  const { jsonSyntaxError } = await import("../src/util/json_syntax.ts");
  const valid = [
    "[]",
    "{}",
    ' [1, -2.5e+3, 0, true, false, null, "a\\"\\u00e9\\n"] ',
    '{"a": {"b": [{}]}, "c": ""}\n',
    "[".repeat(100_000) + "]".repeat(100_000),
  ];
  for (const text of valid) assert.equal(jsonSyntaxError(text), undefined, text.slice(0, 40));
  const invalid: [string, number, string][] = [
    ["[1,2] x", 6, "unexpected text after the JSON"],
    ["[1,2,]", 5, 'unexpected "]"'],
    ["[1 2]", 3, "expected ',' or ']'"],
    ['{"a" 1}', 5, "expected ':' after a key"],
    ["{a: 1}", 1, "expected a key in double quotes"],
    ['{"a": 1,}', 8, "expected a key in double quotes"],
    ["[01]", 2, "expected ',' or ']'"],
    ["[-]", 1, "a bad number"],
    ["[NaN]", 1, 'unexpected "N"'],
    ['["a\\q"]', 3, "a bad escape in a string"],
    ['["\\u12"]', 2, "a bad \\u escape in a string"],
    ['["a\tb"]', 3, "a control character (a raw line break or tab) in a string"],
    ['["abc', 1, "a string that is not closed"],
    ["[1, [2", 6, "it ends too early"],
    ["{", 1, "it ends too early"],
  ];
  for (const [text, offset, problem] of invalid) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    assert.deepEqual(jsonSyntaxError(text), { offset, problem }, text);
  }
});
