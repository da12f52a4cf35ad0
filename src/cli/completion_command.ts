/**
 * `pflow completion bash|zsh|fish`: a shell completion script. Commands,
 * subcommands and flags come from the help texts (so what completes is what
 * `--help` documents); saved workflow names, node types and trace files are
 * asked of pflow when completing (`pflow completion list workflows|types|traces`).
 * @module
 */
import { readdir } from "node:fs/promises";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { GLOBAL_OPTIONS, parseCommand, refuseJson } from "./args.ts";
import { HELP } from "./help.ts";
import { showHelp } from "./show_help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, COMMANDS, EXIT } from "./command.ts";
import { savedNames } from "./saved.ts";
import { writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { TRACE_STATUSES } from "./trace_filters.ts";
import { RUN_STATUSES } from "../ledger/types.ts";
import { isTraceFileName, traceDir } from "./trace_files.ts";
import { SUBCOMMAND_FLAGS } from "./subcommand_flags.ts";

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

const GLOBAL_FLAGS: readonly string[] = Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`);

/** Whether `sub` of `command` takes `flag` (any subcommand takes the global flags). */
function subcommandTakes(command: string, sub: string, flag: FlagDoc): boolean {
  const own = SUBCOMMAND_FLAGS[`${command} ${sub}`];
  return own === undefined || GLOBAL_FLAGS.includes(flag.long) || own.includes(flag.long);
}

const TEXT_JSON = ["text", "json"];

/**
 * Fixed values of flags that take one, by the command, or `command subcommand`,
 * whose flag it is (`--format` means three different things); `*`: any command.
 */
const FLAG_VALUES: Record<string, Record<string, readonly string[]>> = {
  "*": { "--output-format": TEXT_JSON, "--log-format": TEXT_JSON },
  "trace list": { "--status": TRACE_STATUSES },
  "trace export": { "--format": ["otlp-json"] },
  "cost report": {
    "--format": ["text", "json", "md"],
    "--by": ["day", "week", "month", "model", "workflow", "node", "run"],
    "--status": RUN_STATUSES,
    "--phase": ["planner", "workflow"],
  },
  metrics: { "--format": ["prometheus", "openmetrics"] },
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
  if (!parsed.values.help) refuseJson(parsed.values, "completion", "its output is a shell script (or a list of names)");
  if (parsed.values.help || shell === undefined) return showHelp("completion", { asked: parsed.values.help === true });
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
      return await savedNames(pflowHome(env));
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

/** Every command with the flags its help documents; `""`: the flags before any command. */
function flagTable(): [string, FlagDoc[]][] {
  return ["", ...COMMANDS.filter((c) => c !== "help")].map((c) => [c, documentedFlags(c)]);
}

/** What completes after a flag that takes a value: fixed words, file names, or nothing (free text). */
interface ValueRule {
  command: string;
  /** Only after this subcommand (or before any is typed); undefined: any. */
  sub?: string;
  flag: FlagDoc;
  words?: readonly string[];
  files: boolean;
}

/** The value rules of every flag that takes a value, a subcommand's before its command's. */
function valueRules(): ValueRule[] {
  const rules: ValueRule[] = [];
  for (const [command, flags] of flagTable()) {
    for (const flag of flags.filter((f) => f.value !== undefined)) {
      for (const sub of SUBCOMMANDS[command] ?? []) {
        const words = FLAG_VALUES[`${command} ${sub}`]?.[flag.long];
        if (words) rules.push({ command, sub, flag, words, files: false });
      }
      const words = FLAG_VALUES[command]?.[flag.long] ?? FLAG_VALUES["*"][flag.long];
      rules.push({ command, flag, words, files: words === undefined && flag.value === "FILE" });
    }
  }
  return rules;
}

/** The flag's spellings: `-o --output`. */
function spellings(flag: FlagDoc): string[] {
  return flag.short ? [flag.short, flag.long] : [flag.long];
}

/** A shell `case` that prints, for the command in `$1`, `text(flags)`. */
function perCommandCase(indent: string, text: (flags: FlagDoc[]) => string): string {
  return flagTable().map(([c, flags]) => `${indent}${c === "" ? "''" : c}) ${text(flags)} ;;`).join("\n");
}

/**
 * A shell `case` on `$1:$2` (command and subcommand) that prints `text(flags)`
 * for the flags that subcommand takes (see {@link SUBCOMMAND_FLAGS}), or all
 * of the command's when it has no such subcommand (or none is typed yet).
 */
function perSubcommandCase(indent: string, text: (flags: FlagDoc[]) => string): string {
  return flagTable().flatMap(([c, flags]) => [
    ...(SUBCOMMANDS[c] ?? []).filter((sub) => SUBCOMMAND_FLAGS[`${c} ${sub}`] !== undefined).map((sub) =>
      `${indent}${c}:${sub}) ${text(flags.filter((f) => subcommandTakes(c, sub, f)))} ;;`
    ),
    `${indent}${c === "" ? "''" : c}:*) ${text(flags)} ;;`,
  ]).join("\n");
}

/** The commands, as a `case` pattern. */
function commandPattern(): string {
  return ["''", ...COMMANDS].join("|");
}

function bashScript(): string {
  const valueCases = valueRules().map((r) => {
    const patterns = spellings(r.flag).flatMap((f) =>
      r.sub === undefined ? [`${r.command}:*:${f}`] : [`${r.command}:${r.sub}:${f}`, `${r.command}::${f}`]
    );
    const action = r.words
      ? `_pflow_words "${r.words.join(" ")}" "$4"`
      : r.files
      ? `local IFS=$'\\n'; compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$(_pflow_dequote "$4")"))`
      : ":";
    return `    ${patterns.join("|")}) ${action} ;;`;
  }).join("\n");
  const subCases = Object.entries(SUBCOMMANDS).map(([c, subs]) => `    ${c}) subs="${subs.join(" ")}" ;;`).join("\n");
  return `# pflow completion for bash. Load it with: source <(pflow completion bash)
# The command whose flags apply to word $1: itself, or run for a workflow (pflow FILE.json|NAME).
_pflow_command() {
  case "$1" in
    ${commandPattern()}) echo "$1" ;;
    *) echo run ;;
  esac
}

# The flags of command $1 (subcommand $2).
_pflow_flags() {
  case "$1:$2" in
${perSubcommandCase("    ", (flags) => `echo "${flags.flatMap(spellings).join(" ")}"`)}
  esac
}

# The flags of command $1 that take a value.
_pflow_value_flags() {
  case "$1" in
${perCommandCase("    ", (flags) => `echo "${flags.filter((f) => f.value).flatMap(spellings).join(" ")}"`)}
  esac
}

# Completes the value of flag $3 of command $1 (subcommand $2) from $4; fails when $3 takes no value.
_pflow_flag_values() {
  case "$1:$2:$3" in
${valueCases}
    *) return 1 ;;
  esac
}

# The word $1 as a file name: its opening quote, or its backslash escapes, removed (My\\ F, "My F, 'My F: My F).
_pflow_dequote() {
  local w
  case "$1" in
    \\'*) printf '%s' "\${1#\\'}" ;;
    \\"*) IFS= read w <<<"\${1#\\"}"; printf '%s' "$w" ;;
    *) IFS= read w <<<"$1"; printf '%s' "$w" ;;
  esac
}

_pflow_files() {
  local IFS=$'\\n' w
  w="$(_pflow_dequote "$1")"
  compopt -o filenames 2>/dev/null
  COMPREPLY+=($(compgen -f -X '!*.json' -- "$w") $(compgen -d -S / -- "$w"))
}

_pflow_words() {
  COMPREPLY+=($(compgen -W "$1" -- "$2"))
}

# Adds the saved workflows whose names begin with the word $1, each one word (a name put there by hand may
# hold spaces); compgen matches the word with its quoting removed (My\\ F, "My F, 'My F all complete My Flow).
# A name starting with '-' only after '--' ($2 = 1), where it cannot be taken for a flag.
_pflow_saved() {
  local IFS=$'\\n' name
  local -a names=()
  while IFS= read -r name; do
    [[ -n "$name" ]] && names+=("$name")
  done < <(pflow completion list workflows 2>/dev/null)
  (( \${#names[@]} )) || return 0
  # Readline quotes what it inserts (My\\ Flow) as for file names; only here, not for commands or flags.
  compopt -o filenames 2>/dev/null
  while IFS= read -r name; do
    [[ "$name" == -* ]] && (( ! $2 )) && continue
    COMPREPLY+=("$name")
  done < <(compgen -W "$(printf '%q\\n' "\${names[@]}")" -- "$1")
}

_pflow() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" sub="" subs="" fcmd="" vflags i w
  local -i n=0 dd=0
  COMPREPLY=()
  # --flag=value: bash splits it at '='.
  if [[ "$cur" == "=" ]]; then cur=""
  elif [[ "$prev" == "=" ]]; then prev="\${COMP_WORDS[COMP_CWORD-2]}"
  fi
  # The command, its subcommand and how many words of theirs come before the cursor; flags (global
  # ones may come before the command) and their values are skipped.
  vflags=" $(_pflow_value_flags "") "
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    # After '--' every word is an argument.
    if [[ "$w" == "--" ]] && (( ! dd )); then dd=1; continue; fi
    if [[ "$w" == -* ]] && (( ! dd )); then
      if [[ "\${COMP_WORDS[i+1]}" == "=" ]]; then (( i += 2 ))
      elif [[ "$vflags" == *" $w "* ]]; then (( i++ ))
      fi
      continue
    fi
    if (( n == 0 )); then
      cmd="$w"
      fcmd="$(_pflow_command "$w")"
      vflags=" $(_pflow_value_flags "$fcmd") "
    fi
    (( n == 1 )) && sub="$w"
    (( n++ ))
  done
  if (( ! dd )) && [[ "$prev" == -* ]] && _pflow_flag_values "$fcmd" "$sub" "$prev" "$cur"; then return; fi
  if (( ! dd )) && [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_pflow_flags "$fcmd" "$sub")" -- "$cur"))
    return
  fi
  if (( n == 0 )); then
    _pflow_words "${COMMANDS.join(" ")}" "$cur"
    _pflow_saved "$cur" $dd
    _pflow_files "$cur"
    return
  fi
  case "$cmd" in
${subCases}
  esac
  if [[ -n "$subs" ]] && (( n == 1 )); then
    _pflow_words "$subs" "$cur"
    return
  fi
  case "$cmd:$sub:$n" in
    run:*:1|validate:*:1)
      _pflow_saved "$cur" $dd
      _pflow_files "$cur" ;;
    workflow:show:2|workflow:delete:2) _pflow_saved "$cur" $dd ;;
    workflow:save:2) _pflow_files "$cur" ;;
    registry:describe:2) _pflow_words "$(pflow completion list types 2>/dev/null)" "$cur" ;;
    trace:show:*|trace:export:2) _pflow_words "$(pflow completion list traces 2>/dev/null)" "$cur" ;;
  esac
}
complete -F _pflow pflow
`;
}

function zshScript(): string {
  const quote = (text: string) => `'${text.replaceAll("'", "")}'`;
  const valueCases = valueRules().map((r) => {
    const patterns = spellings(r.flag).flatMap((f) =>
      r.sub === undefined ? [`${r.command}:*:${f}`] : [`${r.command}:${r.sub}:${f}`, `${r.command}::${f}`]
    );
    const action = r.words ? `compadd -- ${r.words.join(" ")}` : r.files ? "_files" : ":";
    return `    (${patterns.join("|")}) ${action} ;;`;
  }).join("\n");
  const subCases = Object.entries(SUBCOMMANDS).map(([c, subs]) => `    ${c}) subs=(${subs.join(" ")}) ;;`).join("\n");
  return `#compdef pflow
# pflow completion for zsh. Load it with: source <(pflow completion zsh) (after compinit)
# The command whose flags apply to word $1: itself, or run for a workflow (pflow FILE.json|NAME).
_pflow_command() {
  case $1 in
    (${commandPattern()}) print -r -- "$1" ;;
    (*) print run ;;
  esac
}

# The flags of command $1 (subcommand $2), with their descriptions.
_pflow_flags() {
  case "$1:$2" in
${
    perSubcommandCase(
      "    ",
      (flags) => `flags=(${flags.map((f) => quote(`${f.long}:${f.description.replaceAll(":", "\\:")}`)).join(" ")})`,
    )
  }
  esac
}

# The flags of command $1 that take a value.
_pflow_value_flags() {
  case $1 in
${perCommandCase("    ", (flags) => `vflags=(${flags.filter((f) => f.value).flatMap(spellings).join(" ")})`)}
  esac
}

# Completes the value of flag $3 of command $1 (subcommand $2); fails when $3 takes no value.
_pflow_flag_values() {
  case "$1:$2:$3" in
${valueCases}
    (*) return 1 ;;
  esac
}

# Adds the saved workflows; a name starting with '-' only after '--' ($dd), where it cannot be taken for a flag.
_pflow_saved() {
  local -a names
  names=(\${(f)"$(pflow completion list workflows 2>/dev/null)"})
  (( dd )) || names=(\${names:#-*})
  compadd -- $names
}

_pflow() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmd= sub= fcmd= w
  local -a flags subs vflags
  integer i n=0 dd=0
  # --flag=value: complete the value after '='.
  if [[ $cur == -*=* ]]; then
    prev=\${cur%%=*}
    compset -P '*='
    cur=\${cur#*=}
  fi
  # The command, its subcommand and how many words of theirs come before the cursor; flags (global
  # ones may come before the command) and their values are skipped.
  _pflow_value_flags ''
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    # After '--' every word is an argument.
    if [[ $w == -- ]] && (( ! dd )); then dd=1; continue; fi
    if [[ $w == -* ]] && (( ! dd )); then
      [[ $w != *=* ]] && (( \${vflags[(Ie)$w]} )) && (( i++ ))
      continue
    fi
    if (( n == 0 )); then
      cmd=$w
      fcmd=$(_pflow_command $w)
      _pflow_value_flags $fcmd
    fi
    (( n == 1 )) && sub=$w
    (( n++ ))
  done
  if (( ! dd )) && [[ $prev == -* ]] && _pflow_flag_values "$fcmd" "$sub" "$prev"; then return; fi
  if (( ! dd )) && [[ $cur == -* ]]; then
    _pflow_flags "$fcmd" "$sub"
    _describe -t flags 'flag' flags
    return
  fi
  if (( n == 0 )); then
    compadd -- ${COMMANDS.join(" ")}
    _pflow_saved
    _files -g '*.json'
    return
  fi
  case $cmd in
${subCases}
  esac
  if (( \${#subs} )) && (( n == 1 )); then
    compadd -- $subs
    return
  fi
  case "$cmd:$sub:$n" in
    (run:*:1|validate:*:1)
      _pflow_saved
      _files -g '*.json' ;;
    (workflow:show:2|workflow:delete:2) _pflow_saved ;;
    (workflow:save:2) _files -g '*.json' ;;
    (registry:describe:2) compadd -- \${(f)"$(pflow completion list types 2>/dev/null)"} ;;
    (trace:show:*|trace:export:2) compadd -- \${(f)"$(pflow completion list traces 2>/dev/null)"} ;;
  esac
}
compdef _pflow pflow
`;
}

function fishScript(): string {
  const lines = [
    "# pflow completion for fish. Install: pflow completion fish > ~/.config/fish/completions/pflow.fish",
    "complete -c pflow -f",
    "# The saved workflows; a name starting with '-' only after '--', where it cannot be taken for a flag.",
    "function __pflow_saved",
    "    set -l dd (contains -- -- (commandline -opc); and echo 1)",
    "    for name in (pflow completion list workflows 2>/dev/null)",
    "        string match -q -- '-*' $name; and test -z \"$dd\"; and continue",
    "        printf '%s\\n' $name",
    "    end",
    "end",
    "# True for the shorthand pflow FILE.json|NAME: the first argument past the global flags is no command.",
    "function __pflow_shorthand",
    "    set -l skip 0",
    "    set -l dd 0",
    "    for a in (commandline -opc)[2..-1]",
    "        if test $skip = 1; set skip 0; continue; end",
    "        if test $dd = 0",
    '            if test "$a" = --; set dd 1; continue; end',
    "            if string match -q -- '-*' $a",
    `                contains -- $a ${
      documentedFlags("").filter((f) => f.value).flatMap(spellings).join(" ")
    }; and set skip 1`,
    "                continue",
    "            end",
    "        end",
    `        contains -- $a ${COMMANDS.join(" ")}; and return 1`,
    "        return 0",
    "    end",
    "    return 1",
    "end",
    `complete -c pflow -n __fish_use_subcommand -a '${COMMANDS.join(" ")}'`,
    "complete -c pflow -n __fish_use_subcommand -a '(__pflow_saved)' -d 'saved workflow'",
    "complete -c pflow -n __fish_use_subcommand -a '(__fish_complete_suffix .json)'",
  ];
  for (const [command, subs] of Object.entries(SUBCOMMANDS)) {
    const none = subs.map((s) => `not __fish_seen_subcommand_from ${s}`).join("; and ");
    lines.push(`complete -c pflow -n '__fish_seen_subcommand_from ${command}; and ${none}' -a '${subs.join(" ")}'`);
  }
  lines.push(
    "complete -c pflow -n '__fish_seen_subcommand_from run validate' -a '(__pflow_saved)' -d 'saved workflow'",
    "complete -c pflow -n '__fish_seen_subcommand_from run validate' -a '(__fish_complete_suffix .json)'",
    "complete -c pflow -n '__fish_seen_subcommand_from workflow; and __fish_seen_subcommand_from show delete' -a '(__pflow_saved)'",
    "complete -c pflow -n '__fish_seen_subcommand_from workflow; and __fish_seen_subcommand_from save' -a '(__fish_complete_suffix .json)'",
    "complete -c pflow -n '__fish_seen_subcommand_from registry; and __fish_seen_subcommand_from describe' -a '(pflow completion list types 2>/dev/null)'",
    "complete -c pflow -n '__fish_seen_subcommand_from trace; and __fish_seen_subcommand_from show export' -a '(pflow completion list traces 2>/dev/null)'",
  );
  const rules = valueRules();
  for (const [command, flags] of flagTable()) {
    for (const f of flags) {
      const short = f.short ? ` -s ${f.short.slice(1)}` : "";
      const description = f.description.replaceAll("'", "");
      // Global flags before the command; run's also after a workflow given as the command (pflow FILE.json).
      const conditions = (seen: string) =>
        command === "" ? ["__fish_use_subcommand"] : command === "run" ? [seen, "__pflow_shorthand"] : [seen];
      const complete = (condition: string, arg: string) => {
        for (const c of conditions(condition)) {
          lines.push(`complete -c pflow -n '${c}' -l ${f.long.slice(2)}${short}${arg} -d '${description}'`);
        }
      };
      const subs = SUBCOMMANDS[command] ?? [];
      // Not after a subcommand that does not take the flag.
      const refusing = subs.filter((s) => !subcommandTakes(command, s, f));
      const seen = `__fish_seen_subcommand_from ${command}` +
        (refusing.length > 0 ? `; and not __fish_seen_subcommand_from ${refusing.join(" ")}` : "");
      const own = rules.filter((r) => r.command === command && r.flag.long === f.long);
      const bySub = own.filter((r) => r.sub !== undefined);
      // A subcommand's values: after that subcommand, or before any is typed.
      for (const r of bySub) {
        const others = subs.filter((s) => s !== r.sub);
        complete(
          `__fish_seen_subcommand_from ${command}; and not __fish_seen_subcommand_from ${others.join(" ")}`,
          ` -x -a '${r.words!.join(" ")}'`,
        );
      }
      if (bySub.length > 0) continue;
      const rule = own[0];
      const arg = rule === undefined
        ? ""
        : rule.words
        ? ` -x -a '${rule.words.join(" ")}'`
        : rule.files
        ? " -r -F"
        : " -x";
      complete(seen, arg);
    }
  }
  return `${lines.join("\n")}\n`;
}

const SCRIPTS: Record<string, () => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };
