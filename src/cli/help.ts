/**
 * Help texts of every command.
 * @module
 */
import { VERSION } from "../version.ts";

/**
 * The environment variables a user sets, each with a note when it needs one: the top-level help's list
 * (`tests/docs_test.ts` checks that it names every variable the README documents and the code reads).
 */
export const ENVIRONMENT: readonly (readonly [name: string, note?: string])[] = [
  ["PFLOW_HOME", "state, default ~/.pflow"],
  ["PFLOW_DEFAULT_MODEL"],
  ["PFLOW_PLANNER_MODEL"],
  ["PFLOW_LOG_LEVEL"],
  ["PFLOW_LEDGER", "off: no run ledger"],
  ["PFLOW_PUSHGATEWAY_URL"],
  ["ANTHROPIC_API_KEY"],
  ["OPENAI_API_KEY"],
  ["GOOGLE_GENERATIVE_AI_API_KEY"],
  ["OPENROUTER_API_KEY"],
  ["ANTHROPIC_BASE_URL"],
  ["OPENAI_BASE_URL"],
  ["GOOGLE_GEMINI_BASE_URL"],
  ["TRACEPARENT"],
  ["OTEL_EXPORTER_OTLP_ENDPOINT", "and the other OTEL_* variables"],
  ["NO_COLOR"],
];

/** `Environment: A (note), B, …` wrapped at 80 columns, as every help text is. */
function environmentText(): string {
  const items = ENVIRONMENT.map(([name, note], i) =>
    `${name}${note === undefined ? "" : ` (${note})`}${i === ENVIRONMENT.length - 1 ? "." : ","}`
  );
  const lines = ["Environment:"];
  for (const item of items) {
    if (lines[lines.length - 1].length + 1 + item.length > 80) lines.push(item);
    else lines[lines.length - 1] += ` ${item}`;
  }
  return lines.join("\n");
}

/** The flags of every command. */
const BASE = `  -h, --help                 Show help for the command
  -v, --verbose              Show stack traces and more detail on errors`;

/** JSON mode's flags, in every command whose output can be one JSON document (all but `completion`). */
const COMMON = `${BASE}
      --output-format FMT    text (default) or json
      --json                 Same as --output-format json`;

/** Help by command name; `""` is the top level. */
export const HELP: Record<string, string> = {
  "": `pflow ${VERSION}: run workflows of shell, file, http and llm nodes

Usage:
  pflow run FILE.json|NAME [key=value ...]  Run a workflow
  pflow FILE.json|NAME [key=value ...]      Shorthand for run
  pflow "REQUEST IN PLAIN WORDS"            Plan a workflow for it, then run it
  pflow plan "REQUEST" [--dry-run]          The same, explicitly
  pflow validate FILE.json|NAME             Check a workflow without running it
  pflow workflow save|list|show|delete ...  Manage saved workflows
  pflow registry list|describe TYPE         Node types and their params
  pflow pricing show [MODEL]                LLM prices and their sources
  pflow trace list|show|export|prune ...    Read the traces of run --trace
  pflow cost report|show ...                LLM spend across runs (run ledger)
  pflow metrics [serve]                     Prometheus metrics of the run ledger
  pflow completion bash|zsh|fish            Print a shell completion script

Flags (before or after the command):
${COMMON}
      --version              Print the version

${environmentText()}
Exit codes: 0 success, 1 workflow failed, 2 usage or validation error,
130 interrupted (129 by SIGHUP), 74 the result could not be written to stdout.
Run 'pflow COMMAND --help' for a command's flags.`,
  run: `Run a workflow file or a saved workflow.

Usage:
  pflow run FILE.json|NAME [key=value ...] [flags]

Params are typed by the input's declared type (title=123 is the text "123" for a
string input; a number, integer, boolean, object or array input parses the text
as one, refusing digits a JSON number would lose). For untyped inputs, and for a
workflow that declares no inputs: true/false, null, numbers that print back as
written (42, 1.5; 1.10, 1e3, 007 stay text), JSON starting with [ or {, else
text.
A key that is not a declared input of a workflow that declares inputs is an
error (exit 2).
Piped stdin fills \${stdin} (or the input marked "stdin": true) when the workflow
uses it; \${stdin} with nothing piped is an error (exit 2).

Flags:
  -o, --output-key KEY       Print only this output (or a store path like
                             node.key); in JSON mode, "result" holds only
                             {KEY: value}
      --metrics              Measure every node; print a summary line on stderr
      --max-budget-usd N     Start no LLM call once N US dollars are spent
                             (exit 1)
      --price-table FILE     Price LLM calls with FILE merged over the shipped
                             and PFLOW_HOME prices
      --trace                Write a trace to PFLOW_HOME/debug/
                             (see 'pflow trace --help')
      --otlp-endpoint URL    Export the run's spans over OTLP/HTTP
                             (or set OTEL_EXPORTER_OTLP_ENDPOINT)
      --log-format FMT       Logs on stderr as text (default) or json;
                             level from PFLOW_LOG_LEVEL
      --max-node-executions N  Fail the run before any node runs more
                             than N times (default: the workflow's
                             limits.max_node_executions, else 10000)
      --no-ledger            Do not record this run in PFLOW_HOME/ledger.db
                             (see 'pflow cost --help')
      --pushgateway URL      Push the run's gauges to a Prometheus Pushgateway
                             (or PFLOW_PUSHGATEWAY_URL)
${COMMON}

Text mode prints the outputs on stdout (progress on stderr when it is a
terminal). JSON mode prints one document:
{"type":"result","subtype":...,"is_error":...,"result":{...},
"total_cost_usd":...,"usage":{...},"metrics":{...},...} and measures every node.
Runs that call LLMs print a cost summary line on stderr.`,
  plan: `Plan a workflow for a request in plain words, then run it.

Usage:
  pflow plan "REQUEST" [key=value ...] [flags]
  pflow "REQUEST" [key=value ...] [flags]
      (a first argument with spaces that is not a file or saved workflow)

The planner reuses a saved workflow when one does what the request asks (one LLM
call choosing from their names, descriptions and inputs), else writes a new one
(one call), validates it like 'pflow run' and repairs it with the validator's
messages (--max-repairs). Generated plans are kept in PFLOW_HOME/plans/; the
values the request states fill the workflow's inputs; key=value params override
them. Piped stdin reaches the planned workflow as \${stdin}.

Flags:
      --dry-run              Plan and validate, print the plan, do not run it
      --save NAME            Save the generated workflow under NAME
                             (see 'pflow workflow save')
      --force                With --save: replace an existing saved workflow
      --planner-model MODEL  The planner's model
                             (else PFLOW_PLANNER_MODEL, settings planner_model,
                             the default model)
      --planner-timeout S    Abort planning after S seconds (default 120);
                             exit 1
      --max-repairs N        Repair calls after an invalid workflow, 0-10
                             (default 2)
      --trace-planner        Write the planner's trace to PFLOW_HOME/debug/
                             (always written when planning fails)
  -o, --output-key KEY       Print only this output
      --metrics              Measure every node; print a summary line on stderr
      --max-budget-usd N     Start no LLM call once N US dollars are spent,
                             planning included (exit 1)
      --max-node-executions N  Fail the planned run before any node runs
                             more than N times (default: the workflow's
                             limits.max_node_executions, else 10000)
      --price-table FILE     Price LLM calls with FILE merged over the shipped
                             and PFLOW_HOME prices
      --trace                Write the workflow's trace to PFLOW_HOME/debug/
      --otlp-endpoint URL    Export the request's spans (planning and run)
                             over OTLP/HTTP
      --log-format FMT       Logs on stderr as text (default) or json
      --no-ledger            Do not record this run in PFLOW_HOME/ledger.db
                             (see 'pflow cost --help')
      --pushgateway URL      Push the run's gauges to a Prometheus Pushgateway
                             (or PFLOW_PUSHGATEWAY_URL)
${COMMON}

Exit codes: 0 success; 1 planning or the workflow failed (or timed out, or hit
the budget); 2 usage error, a plan still invalid after the repairs, or required
inputs missing; 130 interrupted.`,
  trace: `Read the traces 'pflow run --trace' writes to PFLOW_HOME/debug/.

Usage:
  pflow trace list [--workflow NAME] [--since WHEN] [--status STATUS]
                   [--limit N] [--json]
  pflow trace show [PATH|latest|EXECUTION_ID] [--node ID [--state]] [--json]
  pflow trace show [PATH|latest|TRACE_ID ...] --html [-o FILE] [--open]
  pflow trace export PATH|latest|EXECUTION_ID --format otlp-json [-o FILE]
  pflow trace prune [--older-than AGE] [--keep N] [--dry-run] [--json]

A trace is named by its path, its file name in PFLOW_HOME/debug, 'latest', or
its execution id (or a unique prefix of at least 4 characters).
list: --since 30m|12h|7d|2w|2025-03-04|2025-03-04T10:00; --status success,
failed, interrupted, budget_exceeded, timeout, incomplete, partial or unreadable
(comma-separated for several).
prune removes the traces started before AGE (--older-than; default: settings
trace.keep_days, else 30d) that are not among the newest N (--keep); --keep
alone keeps the newest N and removes the rest, whatever their age. --dry-run
lists what would go.

--html writes the run as a self-contained page (waterfall, details, cost) beside
the trace (x.json -> x.html, or -o FILE) and prints its path; several traces of
one run share its time axis.

Flags:
${COMMON}
      --limit N              list: show the N most recent traces (default 20)
      --node ID              show: one node's executions in full
                             (params, outputs, LLM calls, errors)
      --state                show --node: the shared store before and after
                             each execution
      --format otlp-json     export: the format to write (OTLP JSON TracesData)
      --html                 show: write an HTML page instead of printing
                             the tree
  -o, --output FILE          show --html: where to write the page
                             (a directory: the trace's name with .html in it);
                             export: instead of stdout
      --open                 show --html: open the page with the system's opener
      --workflow NAME        list: only this workflow's traces
      --since WHEN           list: only traces started since WHEN
      --status STATUS        list: only traces of this status
      --older-than AGE       prune: traces started before AGE ago
                             (or before a date)
      --keep N               prune: always keep the newest N traces
      --dry-run              prune: list what would be removed, remove nothing`,
  validate: `Check a workflow without running anything: the same static validation as
'pflow run' (JSON syntax, schema, node types and params, templates, edges, API
keys of the models it names), with the same messages, exit codes and JSON
problem list. With key=value params, the inputs are checked too (missing,
mistyped or unknown keys), as 'pflow run' would.

Usage:
  pflow validate FILE.json|NAME [key=value ...] [--output-format json]

Exit codes: 0 valid, 2 problems found (each on one line:
file:line:column: /pointer: message).
JSON mode prints one document: {"type":"validation","valid":true|false,
"workflow_name":...,"file":...,
"problems":[{file,line,column,pointer,message}],"warnings":[...]}.

Flags:
${COMMON}`,
  completion: `Print a shell completion script: commands, flags, saved workflow names, node
types and trace files complete as you type.

Usage:
  pflow completion bash|zsh|fish

Install:
  bash   echo 'source <(pflow completion bash)' >> ~/.bashrc
  zsh    echo 'source <(pflow completion zsh)' >> ~/.zshrc
  fish   pflow completion fish > ~/.config/fish/completions/pflow.fish

Flags:
${BASE}

Its output is a shell script: --json and --output-format json are refused
(exit 2).`,
  pricing: `LLM prices (USD per million tokens): the shipped table merged with
PFLOW_HOME/pricing.yaml (and --price-table FILE), and where each price came
from.

Usage:
  pflow pricing show [MODEL] [--price-table FILE] [--json]

A model that is not in the table is unpriced: its tokens are counted, its cost
is not (exit 1).

Flags:
${COMMON}
      --price-table FILE     Merge FILE over the shipped and PFLOW_HOME prices`,
  cost: `LLM spend across runs, from the run ledger (PFLOW_HOME/ledger.db) every run
writes.

Usage:
  pflow cost report [--by day|week|month|model|workflow|node|run] [--breakdown]
                    [filters] [--top N] [--json | --format text|json|md]
                    [-o FILE] [--reprice [--price-table FILE]]
  pflow cost show [RUN|latest] [--json]
      One run by node and model (RUN: execution id or a unique prefix)

Groups (--by): day (default), week (ISO, labelled by its Monday), month, model,
workflow, node, run.
Dates: YYYY-MM-DD or YYYYMMDD (a local day in --timezone), YYYY-MM-DDTHH:MM
(local unless it ends in Z or +HH:MM), or a time ago: 30m, 24h, 7d, 4w.

Flags:
${BASE}
      --output-format FMT    text (default) or json
      --json                 Same as --format json (and --output-format json)
      --by GROUP             What each row is (see Groups)
      --breakdown            A row per model under each group
      --since WHEN           From this day, or this long ago (inclusive)
      --until WHEN           Up to and including this day, or this long ago
      --workflow NAME        One workflow
      --model ID             One model (with or without provider, aliases,
                             dated snapshots, provider/*)
      --status LIST          Run status, comma-separated: success, failed,
                             interrupted, budget_exceeded, running
      --phase PHASE          planner or workflow calls only
      --timezone ZONE        IANA zone deciding which day/week/month a run
                             lands in (default: the local zone)
      --top N                The N most expensive runs and nodes
      --format FMT           text (default), json or md (Markdown report)
  -o, --output FILE          Write the report to FILE (atomically) instead of
                             stdout
      --reprice              Recompute every call's cost with the current
                             prices, next to the recorded cost
      --price-table FILE     Reprice (and match --model) with FILE merged over
                             the shipped and PFLOW_HOME prices

Costs marked + leave out calls of a model without a price (their tokens are
counted) and calls whose usage was not reported; the notes name them. A cost
with no known part reads unpriced (unknown when missing usage alone is the
cause).
The ledger is on by default; turn it off with --no-ledger, PFLOW_LEDGER=off or
"ledger": false in settings.json.`,
  metrics: `Metrics for Prometheus, computed from the run ledger (PFLOW_HOME/ledger.db):
runs, node executions, LLM calls, tokens, cost, durations (histograms), last
success per workflow.

Usage:
  pflow metrics [--format prometheus|openmetrics] [-o FILE] [--since WHEN]
  pflow metrics serve [--listen HOST:PORT]
      /metrics and /healthz (default 127.0.0.1:9464)

-o writes atomically (temp file, then rename), for node_exporter's textfile
collector:
  */5 * * * * pflow metrics -o /var/lib/prometheus/node-exporter/pflow.prom
A scrape of 'serve' gets OpenMetrics when it asks for it (Accept), else the
Prometheus text format.
Runs push their own gauges with --pushgateway URL (PFLOW_PUSHGATEWAY_URL); OTLP
metrics go out when OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (or
OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_METRICS_EXPORTER=otlp) is set.

Flags:
${BASE}
      --output-format FMT    text (default) or json: with -o FILE, print
                             {"path": ...}, the file written (the exposition
                             itself is never JSON: refused without -o and by
                             serve)
      --json                 Same as --output-format json
      --format FMT           prometheus (the text format, default) or
                             openmetrics
  -o, --output FILE          Write to FILE (atomically) instead of stdout
      --since WHEN           Only runs since a local day (YYYY-MM-DD),
                             date-time or time ago (7d)
      --listen ADDR          serve: HOST:PORT or PORT to listen on
                             (default 127.0.0.1:9464)`,
  workflow: `Manage saved workflows (stored in PFLOW_HOME/workflows/).

Usage:
  pflow workflow save FILE.json --name NAME [--description TEXT] [--force]
                      [--json]
  pflow workflow list [--json]
  pflow workflow show NAME [--json]
  pflow workflow delete NAME [--json]

Names: letters, digits, '.', '_' and '-', up to 64 characters, starting with a
letter or digit, not ending with '.', without '..' or '.json'.

Flags:
${COMMON}
      --name NAME            save: the name to save the workflow under
      --description TEXT     save: its description (default: the file's)
      --force                save: replace a saved workflow of that name`,
  registry: `Node types, their params and outputs.

Usage:
  pflow registry list [--json]
  pflow registry describe TYPE [--json]

Flags:
${COMMON}`,
};
