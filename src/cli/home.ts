/**
 * Where pflow keeps state: `PFLOW_HOME` (default `~/.pflow`), its settings
 * file and saved workflows.
 * @module
 */
import { InvalidUtf8Error, readUtf8File, utf8Problem } from "../util/utf8.ts";
import { join } from "node:path";
import process from "node:process";
import type { LlmSettings } from "../llm/types.ts";
import { didYouMean, type Problem, ValidationError } from "../workflow/errors.ts";
import { addLines, duplicateKeyProblems, locateSyntaxError } from "../workflow/load.ts";
import { hideUserinfo, isHttpUrl } from "../util/uri.ts";
import { directoryProblem } from "../util/path_problem.ts";
import { PROVIDER_PRESETS } from "../llm/provider_config.ts";
import { pointerSegment } from "../util/json_pointer.ts";

/**
 * The state directory: `$PFLOW_HOME` or `~/.pflow`. One that exists as
 * something other than a directory is a {@link ValidationError} (exit 2).
 */
export function pflowHome(env: Record<string, string | undefined>): string {
  const home = env.PFLOW_HOME || join(userHome(env), ".pflow");
  const problem = directoryProblem(home);
  if (problem !== undefined) {
    const name = env.PFLOW_HOME ? "PFLOW_HOME" : "the state directory";
    throw new ValidationError([{
      message: `${name} ${home} ${problem}: point PFLOW_HOME at a directory (pflow creates it when missing)`,
    }]);
  }
  return home;
}

/**
 * The user's home directory: `$HOME`, as `os.homedir()` answers on POSIX, else `os.homedir()`. `node:os`
 * is loaded only then: importing it costs about 1 ms of a Bun process's start.
 */
function userHome(env: Record<string, string | undefined>): string {
  return env.HOME || process.getBuiltinModule("node:os").homedir();
}

/** Settings read from `PFLOW_HOME/settings.json`. */
export interface Settings extends LlmSettings {
  [key: string]: unknown;
}

/** The fields of settings.json. */
const SETTINGS_FIELDS = ["default_model", "planner_model", "providers", "ledger", "pushgateway", "trace"];
/** The fields of a `providers` entry. */
const PROVIDER_FIELDS = ["base_url", "api_key_env"];

/** `PFLOW_HOME/settings.json`. */
export function settingsFile(home: string): string {
  return join(home, "settings.json");
}

/** Reads settings; a missing file is empty settings, a bad one a validation error. */
export async function loadSettings(home: string): Promise<Settings> {
  const path = settingsFile(home);
  let text: string;
  try {
    text = await readUtf8File(path);
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw new ValidationError([utf8Problem(path, error)]);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ValidationError([{ file: path, message: `cannot read settings: ${(error as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ValidationError([await locateSyntaxError(text, path)]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ValidationError([{ file: path, message: "settings must be a JSON object" }]);
  }
  const settings = data as Settings;
  // A key given twice would be read as its last value without a word: refused, as in workflow files.
  const problems: Problem[] = duplicateKeyProblems(text).map((p) => ({ ...p, file: path }));
  // A misspelt field would be ignored without a word (the built-in default model used instead): refused, as in
  // workflow files.
  for (const key of Object.keys(data)) {
    if (SETTINGS_FIELDS.includes(key)) continue;
    problems.push({
      file: path,
      pointer: pointerSegment(key),
      message: `unknown setting '${key}'${didYouMean(key, SETTINGS_FIELDS)}; settings: ${SETTINGS_FIELDS.join(", ")}`,
    });
  }
  if (settings.default_model !== undefined && typeof settings.default_model !== "string") {
    problems.push({
      file: path,
      pointer: "/default_model",
      message: 'must be a string like "anthropic/claude-sonnet-4-5"',
    });
  }
  if (settings.planner_model !== undefined && typeof settings.planner_model !== "string") {
    problems.push({
      file: path,
      pointer: "/planner_model",
      message: 'must be a string like "anthropic/claude-haiku-4-5"',
    });
  }
  const providers = (data as Record<string, unknown>).providers;
  if (providers !== undefined && (providers === null || typeof providers !== "object" || Array.isArray(providers))) {
    problems.push({
      file: path,
      pointer: "/providers",
      message: 'must be an object of providers by name: {"vllm": {…}}',
    });
  }
  for (const [name, p] of Object.entries(providers !== null && typeof providers === "object" ? providers : {})) {
    const pointer = `/providers${pointerSegment(name)}`;
    if (p === null || typeof p !== "object" || Array.isArray(p)) {
      problems.push({ file: path, pointer, message: 'must be an object like {"base_url": "http://…/v1"}' });
      continue;
    }
    const entry = p as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (PROVIDER_FIELDS.includes(key)) continue;
      problems.push({
        file: path,
        pointer: `${pointer}${pointerSegment(key)}`,
        message: `unknown provider field '${key}'${didYouMean(key, PROVIDER_FIELDS)}; fields: ${
          PROVIDER_FIELDS.join(", ")
        }`,
      });
    }
    // A preset's entry merges over the preset field by field: its base URL may be left out (or null).
    const preset = Object.hasOwn(PROVIDER_PRESETS, name);
    if (typeof entry.base_url !== "string" && !(preset && (entry.base_url === undefined || entry.base_url === null))) {
      problems.push({
        file: path,
        pointer: `${pointer}/base_url`,
        message: "must be the API's base URL, a string such as http://localhost:8000/v1",
      });
    }
    if (entry.api_key_env !== undefined && entry.api_key_env !== null && typeof entry.api_key_env !== "string") {
      problems.push({
        file: path,
        pointer: `${pointer}/api_key_env`,
        message: `must be the name of an environment variable (a string), got ${JSON.stringify(entry.api_key_env)}`,
      });
    }
  }
  // Read later by the ledger and the metrics export, checked here too so that their problems carry line:column.
  const raw = data as Record<string, unknown>;
  if (raw.ledger !== undefined && typeof raw.ledger !== "boolean") {
    problems.push({
      file: path,
      pointer: "/ledger",
      message: `must be true or false, got ${JSON.stringify(raw.ledger)}`,
    });
  }
  if (raw.pushgateway !== undefined && raw.pushgateway !== "" && !isHttpUrl(raw.pushgateway)) {
    problems.push({
      file: path,
      pointer: "/pushgateway",
      message: `must be an http(s) URL string like "http://127.0.0.1:9091", got ${
        JSON.stringify(typeof raw.pushgateway === "string" ? hideUserinfo(raw.pushgateway) : raw.pushgateway)
      }`,
    });
  }
  if (settings.trace !== undefined) {
    // Checked here too, so that its problems carry line:column like the others.
    const { traceSettings } = await import("./trace_settings.ts");
    try {
      traceSettings(settings, path);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) {
    await addLines(problems, text);
    throw new ValidationError(problems);
  }
  return settings;
}
