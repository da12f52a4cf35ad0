/**
 * What the planner's model is told. The static part (the node registry,
 * rendered from the node specs, the workflow format rules and worked
 * examples) comes first and is byte-identical across calls, so a provider's
 * prompt cache can serve it; what changes per request (the request, the
 * catalogue of saved workflows, the validator's messages) comes after it.
 * @module
 */
import type { NodeSpec, ParamSpec } from "../nodes/spec.ts";
import type { Problem } from "../workflow/errors.ts";
import type { WorkflowIR } from "../workflow/ir.ts";
import type { CatalogueEntry } from "./catalogue.ts";
import { isSecretName } from "../observability/redact.ts";

/** One node type as the planner's model reads it. */
export function renderNodeSpec(spec: NodeSpec): string {
  const param = ([name, p]: [string, ParamSpec]) => {
    const facts = [[p.type].flat().join("|")];
    if (p.required) facts.push("required");
    else if (p.default !== undefined) facts.push(`default ${JSON.stringify(p.default)}`);
    if (p.enum) facts.push(`one of ${p.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    return `  - ${name} (${facts.join(", ")}): ${p.description}`;
  };
  const outputs = Object.entries(spec.outputs).map(([name, o]) => `  - ${name} (${o.type}): ${o.description}`);
  return [
    `### ${spec.type}`,
    spec.description,
    "params:",
    ...Object.entries(spec.params).map(param),
    "outputs:",
    ...outputs,
    `actions: ${["default", ...(spec.actions ?? [])].join(", ")}`,
  ].join("\n");
}

const FORMAT_RULES = `## Workflow format (JSON)

A workflow is one JSON object:
{
  "ir_version": "0.1.0",
  "name": "short-kebab-name",
  "description": "What it does, in one sentence",
  "inputs": { "NAME": { "type": "string|number|integer|boolean|object|array", "description": "…", "default": … } },
  "nodes": [ { "id": "ID", "type": "TYPE", "purpose": "why this node", "params": { … } } ],
  "edges": [ { "from": "ID", "to": "ID", "action": "default" } ],
  "outputs": { "NAME": { "source": "\${ID.output}", "description": "…" } }
}

Rules:
- "ir_version" is "0.1.0". "nodes" has at least one node; the first node runs first (or set "start_node").
- Node ids: letters, digits, "_" and "-", unique, not equal to an input name, not "stdin" (no input is named
  "stdin" either).
- Use only the node types listed above, only their params, and only their outputs.
- Edges: a node with no outgoing edge ends the run. Each node returns an action ("default" unless its type
  lists others); the edge with that action is followed ("action" defaults to "default"). A node that returns
  "error" with no "error" edge fails the run. A node with an "error" edge also takes it when it fails
  outright; its output "error" then holds the message. Every node must be reached from the first node (or
  "start_node") through edges: a node nothing leads to never runs and is refused. An edge's "action" must be
  one its node's type lists under "actions", or "error".
- Templates: "\${NAME}" reads an input; "\${ID.KEY}" reads output KEY of node ID (each node writes its outputs
  under its own id); "\${ID.KEY.field}" and "\${ID.items[0]}" reach inside objects, lists, and text that holds
  JSON. A param that is exactly one template keeps the value's type; templates inside text become text
  (objects as JSON). A template may only name inputs, "stdin", or outputs of nodes that run before it.
  Templates work in values only, never in object keys (a header name, a query or env name is written out).
- "\${stdin}" is the text piped to pflow on standard input.
- "$\${" writes a literal "\${": use it for shell variables, e.g. "echo $\${HOME}". Before a "{", "$$" is
  one "$": "$$\${price}" writes "$" and then the value ("Total: $$\${price}" is "Total: $42").
- Shell: never put a template inside "command" text, where the shell would interpret the value (quotes, ";",
  "$(...)"). Pass values through "env" and write them double-quoted as "$NAME" in the command
  ("command": "wc -l < \"$FILE\"", "env": {"FILE": "\${path}"}), or use "args", a list run without a shell
  with one argument per item ("args": ["git", "log", "-n", "\${count}"]).
- Batch: a node with "batch": {"items": "\${LIST}", "as": "item", "parallel": true, "max_concurrent": 4}
  runs once per item of a list; "\${item}" is the current item; the node then outputs "results" (one object
  per item with that item's outputs, e.g. "\${ID.results[0].response}"), "count" and "errors";
  "\${ID.results[*].response}" is the list of every item's response.
- Inputs: declare every value the user should be able to change (paths, counts, topics, URLs) as an input
  with a type and a description; give a "default" when the request implies one (an input with a default is
  optional: never also write "required": true; one without is required). Put the values the request
  states into "params" (see the reply format), not into the workflow.
- Outputs: declare what the user wants to see; when nothing is declared, the last node's first output is shown.
- Keep workflows small: the fewest nodes that do the job. Prefer one "llm" node over several when one prompt
  can do it. Shell commands must be non-interactive.`;

/** Worked examples of the generate contract (each reply's workflow validates; a test checks it). */
export const PLANNER_EXAMPLES: readonly {
  request: string;
  reply: { workflow: WorkflowIR; params: Record<string, unknown> };
}[] = [
  {
    request: "count the lines of README.md",
    reply: {
      workflow: {
        ir_version: "0.1.0",
        name: "count-lines",
        description: "Counts the lines of a file",
        inputs: { path: { type: "string", description: "File to count", default: "README.md" } },
        nodes: [{
          id: "count",
          type: "shell",
          purpose: "Count lines",
          params: { command: 'wc -l < "$FILE"', env: { FILE: "${path}" } },
        }],
        outputs: { lines: { source: "${count.stdout}", description: "Number of lines" } },
      },
      params: { path: "README.md" },
    },
  },
  {
    request: "summarize the last 20 commits into notes.md",
    reply: {
      workflow: {
        ir_version: "0.1.0",
        name: "commit-notes",
        description: "Summarizes recent git commits into a file",
        inputs: {
          count: { type: "integer", description: "How many commits", default: 20 },
          out: { type: "string", description: "Where to write the notes", default: "notes.md" },
        },
        nodes: [
          {
            id: "log",
            type: "shell",
            purpose: "Read the commits",
            params: { args: ["git", "log", "-n", "${count}", "--format=%h %s"] },
          },
          {
            id: "summarize",
            type: "llm",
            purpose: "Write the notes",
            params: { prompt: "Summarize these commits as Markdown release notes:\n${log.stdout}" },
          },
          {
            id: "save",
            type: "write-file",
            purpose: "Keep the notes",
            params: { path: "${out}", content: "${summarize.response}" },
          },
        ],
        edges: [{ from: "log", to: "summarize" }, { from: "summarize", to: "save" }],
        outputs: { path: { source: "${save.written_path}", description: "The notes file" } },
      },
      params: { count: 20, out: "notes.md" },
    },
  },
  {
    request: "explain each of these topics in two sentences: caching, retries",
    reply: {
      workflow: {
        ir_version: "0.1.0",
        name: "explain-topics",
        description: "Explains each topic briefly",
        inputs: { topics: { type: "array", description: "Topics to explain" } },
        nodes: [{
          id: "explain",
          type: "llm",
          purpose: "One explanation per topic",
          batch: { items: "${topics}", as: "topic", parallel: true, max_concurrent: 4 },
          params: { prompt: "Explain in two sentences: ${topic}" },
        }],
        outputs: { explanations: { source: "${explain.results[*].response}", description: "One per topic" } },
      },
      params: { topics: ["caching", "retries"] },
    },
  },
];

const EXAMPLES = [
  "## Examples",
  ...PLANNER_EXAMPLES.map((e) => `\nRequest: ${JSON.stringify(e.request)}\nReply:\n${JSON.stringify(e.reply)}`),
].join("\n");

/** The reply contract of the generate and repair calls. */
export const GENERATE_REPLY = `## Reply

Answer with one JSON object and nothing else: {"workflow": <the workflow>, "params": {<input name>: <value>}}.
"params" holds the input values the request states or implies (use the inputs' types); leave out what the
request does not say (the user is asked for required inputs that have neither a value nor a default).`;

/** The static system prompt of the generate and repair calls (cacheable: identical for every request). */
export function generateSystemPrompt(specs: readonly NodeSpec[]): string {
  return [
    "You are pflow's planner. You turn a user's request into a pflow workflow: a JSON graph of nodes that",
    "pflow runs. Reply only with the JSON object described at the end.",
    "",
    "## Node types",
    "",
    specs.map(renderNodeSpec).join("\n\n"),
    "",
    FORMAT_RULES,
    "",
    EXAMPLES,
    "",
    GENERATE_REPLY,
  ].join("\n");
}

/**
 * The user message of a generate call. `givenNames` are the `key=value` names given with the request: only
 * their names are sent (a value may be a secret); the plan must declare each as an input, as `pflow run`
 * refuses a key no input declares, so saying so up front saves a repair call.
 */
export function generateMessage(
  request: string,
  context: { stdinPiped: boolean; givenNames?: readonly string[] },
): string {
  const stdin = context.stdinPiped
    ? "\n\nThe user pipes data to pflow on standard input: the workflow can read it as ${stdin}."
    : "";
  const names = context.givenNames ?? [];
  const quoted = names.map((n) => JSON.stringify(n));
  const refs = names.map((n) => `\${${n}}`);
  const given = names.length === 0
    ? ""
    : names.length === 1
    ? `\n\nThe user gives a value for ${quoted[0]} with the request (not shown here): declare ${quoted[0]} as ` +
      `an input and read it as ${refs[0]}; leave it out of "params".`
    : `\n\nThe user gives values for ${quoted.join(", ")} with the request (not shown here): declare each as ` +
      `an input with that name (read as ${refs.join(", ")}); leave them out of "params".`;
  return `Request: ${JSON.stringify(request)}${stdin}${given}`;
}

/** The user message of a repair call: the validator's messages, verbatim. */
export function repairMessage(problems: readonly Problem[]): string {
  const lines = problems.map((p) => `- ${p.pointer ?? "/"}: ${p.message}`);
  return [
    "pflow's validator rejected that workflow:",
    ...lines,
    "",
    'Fix every problem and answer again with the whole corrected {"workflow": …, "params": …} object.',
  ].join("\n");
}

/** The reply contract of the reuse call. */
export const DISCOVER_REPLY =
  `Answer with one JSON object and nothing else: {"workflow_name": <a name from the list, or null>, ` +
  `"params": {<input name>: <value>}, "reason": <one sentence>}. Choose a workflow only when it does what ` +
  `the request asks (its inputs can express the request's specifics); otherwise answer null, and pflow will ` +
  `write a new workflow. "params" holds the values the request gives for the chosen workflow's inputs.`;

/** The system prompt of the reuse call: the catalogue of saved workflows. */
export function discoverSystemPrompt(catalogue: readonly CatalogueEntry[]): string {
  return [
    "You are pflow's planner. Decide whether one of the user's saved workflows does what the request asks.",
    "",
    "## Saved workflows",
    "",
    catalogue.map(renderCatalogueEntry).join("\n"),
    "",
    "## Reply",
    "",
    DISCOVER_REPLY,
  ].join("\n");
}

/**
 * The user message of the reuse call. `givenNames` are the `key=value` names given with the request (only the
 * names: a value may be a secret): a workflow that declares inputs must declare each of them, as `pflow run`
 * refuses a key no input declares.
 */
export function discoverMessage(request: string, givenNames: readonly string[] = []): string {
  const quoted = givenNames.map((n) => JSON.stringify(n));
  const given = givenNames.length === 0
    ? ""
    : `\n\nThe user gives a value for ${
      quoted.length === 1 ? quoted[0] : `each of ${quoted.join(", ")}`
    } with the request (not shown here): choose only a workflow that has an input of ${
      quoted.length === 1 ? "that name" : "each of these names"
    } (or declares no inputs), and leave ${quoted.length === 1 ? "it" : "them"} out of "params".`;
  return `Request: ${JSON.stringify(request)}${given}`;
}

/** One saved workflow as the reuse call lists it: name, description, typed inputs. */
export function renderCatalogueEntry(entry: CatalogueEntry): string {
  const inputs = Object.entries(entry.inputs).map(([name, input]) => {
    const facts = [input.type ?? "any", input.required ? "required" : "optional"];
    // The value of a secret default is not sent (whoever built the entry); the model only learns there is one.
    if (input.secretDefault || (input.default !== undefined && isSecretName(name))) {
      facts.push("has a secret default (not shown)");
    } else if (input.default !== undefined) facts.push(`default ${JSON.stringify(input.default)}`);
    return `${name} (${facts.join(", ")})${input.description ? `: ${input.description}` : ""}`;
  });
  return `- ${entry.name}: ${entry.description || "(no description)"}${
    inputs.length > 0 ? `\n  inputs: ${inputs.join("; ")}` : ""
  }`;
}
