/**
 * `pflow completion bash|zsh|fish`: a shell completion script. Commands,
 * subcommands and flags come from the help texts (so what completes is what
 * `--help` documents); saved workflow names, node types and trace files are
 * asked of pflow when completing (`pflow completion list workflows|types|traces`).
 * @module
 */
import { readdir } from "node:fs/promises";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { parseCommand } from "./args.ts";
import { HELP } from "./help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, COMMANDS, EXIT } from "./command.ts";
import { listSaved } from "./saved.ts";
import { writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { TRACE_STATUSES } from "./trace_filters.ts";
import { isTraceFileName, traceDir } from "./trace_files.ts";

/** Subcommands by command. */
const SUBCOMMANDS: Record<string, string[]> = {
  workflow: ["save", "list", "show", "delete"],
  registry: ["list", "describe"],
  pricing: ["show"],
  trace: ["list", "show", "export", "prune"],
  cost: ["report", "show"],
  metrics: ["serve"],
  completion: ["bash", "zsh", "fish"],
};

/** Fixed values of flags that take one. */
const FLAG_VALUES: Record<string, string[]> = {
  "--output-format": ["text", "json"],
  "--log-format": ["text", "json"],
  "--format": ["otlp-json", "text", "json", "md", "prometheus", "openmetrics"],
  "--status": [...TRACE_STATUSES],
  "--by": ["day", "week", "month", "model", "workflow", "node", "run"],
  "--phase": ["planner", "workflow"],
};

/** One documented flag. */
export interface FlagDoc {
  long: string;
  short?: string;
  /** The value's placeholder (`FILE`, `N`…), when the flag takes one. */
  value?: string;
  description: string;
}

/** The flags a command's help documents (its Flags section and the common ones). */
export function documentedFlags(command: string): FlagDoc[] {
  const text = HELP[command] ?? "";
  const flags: FlagDoc[] = [];
  const line = /^ {2,}(?:(-[A-Za-z]), )?(--[a-z][\w-]*)(?: ([A-Z]+|[a-z]+-[a-z]+))?\s{2,}(\S.*)$/gm;
  for (const m of text.matchAll(line)) {
    if (flags.some((f) => f.long === m[2])) continue;
    flags.push({ long: m[2], short: m[1], value: m[3], description: m[4].trim() });
  }
  return flags;
}

/** Runs `pflow completion …`; returns the exit code. */
export async function completionCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, { command: "completion", flags: {} });
  const [shell, what, ...extra] = parsed.positionals;
  if (parsed.values.help || shell === undefined) {
    writeStdout(`${HELP.completion}\n`);
    return shell === undefined && !parsed.values.help ? EXIT.usage : EXIT.ok;
  }
  if (shell === "list") {
    if (extra.length > 0 || what === undefined) {
      throw new UsageError("usage: pflow completion list workflows|types|traces", "completion");
    }
    writeStdout((await names(what, env)).map((n) => `${n}\n`).join(""));
    return EXIT.ok;
  }
  if (what !== undefined) throw new UsageError(`unexpected argument '${what}'`, "completion");
  const script = SCRIPTS[shell];
  if (script === undefined) throw new UsageError(`unknown shell '${shell}': use bash, zsh or fish`, "completion");
  writeStdout(script());
  return EXIT.ok;
}

/** The names completion offers for `what`. */
async function names(what: string, env: CommandEnv["env"]): Promise<string[]> {
  switch (what) {
    case "workflows":
      return (await listSaved(pflowHome(env))).map((e) => e.name);
    case "types":
      return BUILTIN_NODES.map((c) => c.spec.type).sort();
    case "traces": {
      const files = await readdir(traceDir(env)).catch(() => [] as string[]);
      const traces = files.filter(isTraceFileName).sort().reverse();
      return ["latest", ...traces];
    }
    default:
      throw new UsageError(`unknown list '${what}': use workflows, types or traces`, "completion");
  }
}

/** Every command with the flags its help documents. */
function flagTable(): [string, FlagDoc[]][] {
  return COMMANDS.filter((c) => c !== "help").map((c) => [c, documentedFlags(c)]);
}

function bashScript(): string {
  const flagCases = flagTable().map(([c, flags]) =>
    `    ${c}) echo "${flags.flatMap((f) => f.short ? [f.short, f.long] : [f.long]).join(" ")}" ;;`
  ).join("\n");
  // Flags whose value is free text: nothing to complete after them.
  const free = [...new Set(flagTable().flatMap(([, flags]) => flags.filter((f) => f.value).map((f) => f.long)))]
    .filter((f) => FLAG_VALUES[f] === undefined && f !== "--price-table" && f !== "--output");
  const subCases = Object.entries(SUBCOMMANDS).map(([c, subs]) => `    ${c}) subs="${subs.join(" ")}" ;;`).join("\n");
  return `# pflow completion for bash. Load it with: source <(pflow completion bash)
_pflow_flags() {
  case "$1" in
${flagCases}
    *) echo "--help --verbose --output-format --version" ;;
  esac
}

_pflow_files() {
  local IFS=$'\\n'
  COMPREPLY+=($(compgen -f -X '!*.json' -- "$1") $(compgen -d -S / -- "$1"))
}

_pflow_words() {
  COMPREPLY+=($(compgen -W "$1" -- "$2"))
}

_pflow() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="\${COMP_WORDS[1]}" sub="\${COMP_WORDS[2]}" subs=""
  COMPREPLY=()
  case "$prev" in
    --output-format|--log-format) _pflow_words "text json" "$cur"; return ;;
    --format) _pflow_words "otlp-json" "$cur"; return ;;
    --price-table|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -o) [[ "$cmd" == trace ]] && COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${free.join("|")}) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_pflow_flags "$cmd")" -- "$cur"))
    return
  fi
  if (( COMP_CWORD == 1 )); then
    _pflow_words "${COMMANDS.join(" ")} $(pflow completion list workflows 2>/dev/null)" "$cur"
    _pflow_files "$cur"
    return
  fi
  case "$cmd" in
${subCases}
  esac
  if [[ -n "$subs" ]] && (( COMP_CWORD == 2 )); then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  case "$cmd:$sub" in
    run:*|validate:*)
      if (( COMP_CWORD == 2 )); then
        _pflow_words "$(pflow completion list workflows 2>/dev/null)" "$cur"
        _pflow_files "$cur"
      fi ;;
    workflow:show|workflow:delete)
      (( COMP_CWORD == 3 )) && _pflow_words "$(pflow completion list workflows 2>/dev/null)" "$cur" ;;
    workflow:save) (( COMP_CWORD == 3 )) && _pflow_files "$cur" ;;
    registry:describe) (( COMP_CWORD == 3 )) && _pflow_words "$(pflow completion list types 2>/dev/null)" "$cur" ;;
    trace:show|trace:export)
      (( COMP_CWORD == 3 )) && _pflow_words "$(pflow completion list traces 2>/dev/null)" "$cur" ;;
  esac
}
complete -o filenames -F _pflow pflow
`;
}

function zshScript(): string {
  const flagCases = flagTable().map(([c, flags]) =>
    `    ${c}) flags=(${
      flags.map((f) => `'${f.long}:${f.description.replaceAll("'", "").replaceAll(":", "\\:")}'`).join(" ")
    }) ;;`
  ).join("\n");
  const subCases = Object.entries(SUBCOMMANDS).map(([c, subs]) => `    ${c}) subs=(${subs.join(" ")}) ;;`).join("\n");
  return `#compdef pflow
# pflow completion for zsh. Load it with: source <(pflow completion zsh) (after compinit)
_pflow() {
  local cmd=\${words[2]} sub=\${words[3]} cur=\${words[CURRENT]} prev=\${words[CURRENT-1]}
  local -a flags subs
  case $prev in
    --output-format|--log-format) compadd text json; return ;;
    --format) compadd otlp-json; return ;;
    --price-table) _files; return ;;
    -o|--output) [[ $cmd == trace ]] && { _files; return } ;;
  esac
  if [[ $cur == -* ]]; then
    case $cmd in
${flagCases}
    esac
    _describe -t flags 'flag' flags
    return
  fi
  if (( CURRENT == 2 )); then
    compadd -- ${COMMANDS.join(" ")}
    compadd -- \${(f)"$(pflow completion list workflows 2>/dev/null)"}
    _files -g '*.json'
    return
  fi
  case $cmd in
${subCases}
  esac
  if (( \${#subs} )) && (( CURRENT == 3 )); then
    compadd -- $subs
    return
  fi
  case "$cmd:$sub" in
    run:*|validate:*)
      (( CURRENT == 3 )) && { compadd -- \${(f)"$(pflow completion list workflows 2>/dev/null)"}; _files -g '*.json' } ;;
    workflow:show|workflow:delete)
      (( CURRENT == 4 )) && compadd -- \${(f)"$(pflow completion list workflows 2>/dev/null)"} ;;
    workflow:save) (( CURRENT == 4 )) && _files -g '*.json' ;;
    registry:describe) (( CURRENT == 4 )) && compadd -- \${(f)"$(pflow completion list types 2>/dev/null)"} ;;
    trace:show|trace:export)
      (( CURRENT == 4 )) && compadd -- \${(f)"$(pflow completion list traces 2>/dev/null)"} ;;
  esac
}
compdef _pflow pflow
`;
}

function fishScript(): string {
  const lines = [
    "# pflow completion for fish. Install: pflow completion fish > ~/.config/fish/completions/pflow.fish",
    "complete -c pflow -f",
    `complete -c pflow -n __fish_use_subcommand -a '${COMMANDS.join(" ")}'`,
    "complete -c pflow -n __fish_use_subcommand -a '(pflow completion list workflows 2>/dev/null)' -d 'saved workflow'",
    "complete -c pflow -n __fish_use_subcommand -a '(__fish_complete_suffix .json)'",
  ];
  for (const [command, subs] of Object.entries(SUBCOMMANDS)) {
    const none = subs.map((s) => `not __fish_seen_subcommand_from ${s}`).join("; and ");
    lines.push(`complete -c pflow -n '__fish_seen_subcommand_from ${command}; and ${none}' -a '${subs.join(" ")}'`);
  }
  lines.push(
    "complete -c pflow -n '__fish_seen_subcommand_from run validate' -a '(pflow completion list workflows 2>/dev/null)' -d 'saved workflow'",
    "complete -c pflow -n '__fish_seen_subcommand_from run validate' -a '(__fish_complete_suffix .json)'",
    "complete -c pflow -n '__fish_seen_subcommand_from workflow; and __fish_seen_subcommand_from show delete' -a '(pflow completion list workflows 2>/dev/null)'",
    "complete -c pflow -n '__fish_seen_subcommand_from workflow; and __fish_seen_subcommand_from save' -a '(__fish_complete_suffix .json)'",
    "complete -c pflow -n '__fish_seen_subcommand_from registry; and __fish_seen_subcommand_from describe' -a '(pflow completion list types 2>/dev/null)'",
    "complete -c pflow -n '__fish_seen_subcommand_from trace; and __fish_seen_subcommand_from show export' -a '(pflow completion list traces 2>/dev/null)'",
  );
  for (const [command, flags] of flagTable()) {
    for (const f of flags) {
      const values = FLAG_VALUES[f.long];
      const arg = f.value === undefined ? "" : values ? ` -x -a '${values.join(" ")}'` : " -r";
      const short = f.short ? ` -s ${f.short.slice(1)}` : "";
      const description = f.description.replaceAll("'", "");
      lines.push(
        `complete -c pflow -n '__fish_seen_subcommand_from ${command}' -l ${
          f.long.slice(2)
        }${short}${arg} -d '${description}'`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

const SCRIPTS: Record<string, () => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };
