/**
 * The decorators node classes use to say what they report (TC39 standard
 * decorators). They are the public face of observability: node code imports
 * these and nothing else. A decorator on a class only marks it: its methods
 * stay the class's own until a run that times phases (a traced run) starts
 * in the process, so every other run calls them as if undecorated.
 *
 * - `@timed` (class or method): wall time of `prep`/`exec`/`post` for the
 *   running node when a run records phase detail (traced runs; summed over
 *   retries and batch items); `@timed({ childCpu: true })` also makes every
 *   instrumented run measure the CPU time of child processes the node waited for.
 * - `@llmUsage` (method): the method calls a model and returns an
 *   `LlmResponse`; every call's usage is recorded for the run, node and batch
 *   item that made it (failed attempts too, with their error, each as it
 *   fails through the call's attempt hooks; and a thrown error's `response`,
 *   e.g. a reply that did not match its schema), and a spent budget stops
 *   the next call, or retry, from starting.
 * - `@traced({ capture, redact })` (class): what the node contributes to
 *   traces: params/outputs to capture, names whose values are secret.
 * @module
 */
import type { LlmFailedAttempt, LlmResponse } from "../llm/types.ts";
import { type AttemptHooks, withAttemptHooks } from "../llm/attempt_hooks.ts";
import { ACTIVE, currentScope, scopes } from "./scope.ts";

/** Options of `@timed`. */
export interface TimedOptions {
  /** Also measure the CPU time of child processes the node waited for (Linux; metrics and traces). */
  childCpu?: boolean;
}

const PHASES = ["prep", "exec", "post"] as const;
type Phase = typeof PHASES[number];
type Method = (this: unknown, ...args: unknown[]) => unknown;
const WRAPPED = Symbol("pflow.timed");

/**
 * Times node phases. Use as `@timed` or `@timed({ childCpu: true })` on a
 * node class (wraps its `prep`, `exec` and `post`), or on one of those
 * methods.
 */
export function timed<T extends Method | (abstract new (...args: never[]) => unknown)>(
  target: T,
  context: ClassDecoratorContext | ClassMethodDecoratorContext,
): T;
export function timed(options: TimedOptions): <T>(target: T, context: DecoratorContext) => T;
export function timed(targetOrOptions: unknown, context?: DecoratorContext): unknown {
  if (context === undefined) {
    const options = (targetOrOptions ?? {}) as TimedOptions;
    return (target: unknown, ctx: DecoratorContext) => applyTimed(target, ctx, options);
  }
  return applyTimed(targetOrOptions, context, {});
}

/** Node classes whose executions also measure their child processes' CPU. */
const childCpuClasses = new WeakSet<object>();

/** Whether instances of `cls` measure child-process CPU (`@timed({ childCpu: true })`). */
export function measuresChildCpu(cls: unknown): boolean {
  for (let c = cls; typeof c === "function" && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (childCpuClasses.has(c)) return true;
  }
  return false;
}

function applyTimed(target: unknown, context: DecoratorContext, options: TimedOptions): unknown {
  if (context.kind === "class" && options.childCpu) childCpuClasses.add(target as object);
  if (context.kind === "method" && options.childCpu) {
    context.addInitializer(function (this: unknown) {
      childCpuClasses.add((this as object).constructor);
    });
  }
  if (context.kind === "class") {
    const proto = (target as { prototype: Record<string, Method> }).prototype;
    timedPrototypes.push(proto);
    timedSet.add(proto);
    if (phaseMarksArmed) markPhases(proto);
    return target;
  }
  if (context.kind === "method") {
    const name = String(context.name);
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new TypeError(`@timed goes on a node class or on prep/exec/post, not on '${name}'`);
    }
    return timePhase(target as Method, name as Phase);
  }
  throw new TypeError(`@timed goes on a node class or on prep/exec/post, not on a ${context.kind}`);
}

/**
 * Prototypes of `@timed` classes, in the order the classes were defined (a base before its subclasses),
 * then those of undecorated subclasses, as {@link inheritPhaseMarks} meets them.
 */
const timedPrototypes: Record<string, Method>[] = [];
/** The prototypes in {@link timedPrototypes}, and of classes known to inherit no `@timed`. */
const timedSet = new WeakSet<object>();
const untimedSet = new WeakSet<object>();
let phaseMarksArmed = false;

/**
 * Makes an undecorated subclass of a `@timed` class time the phases it
 * defines itself, as the base times its own: `@timed` on a class holds for
 * its subclasses (an overriding `exec` would otherwise count as `prep`).
 * Called for each node class a run instruments; cheap when called again.
 */
export function inheritPhaseMarks(cls: unknown): void {
  if (typeof cls !== "function") return;
  const proto = (cls as { prototype?: unknown }).prototype;
  if (typeof proto !== "object" || proto === null || timedSet.has(proto) || untimedSet.has(proto)) return;
  // The prototypes between the class and its nearest `@timed` base, base side first.
  const between: object[] = [];
  let p: object | null = proto;
  for (; p !== null && !timedSet.has(p); p = Object.getPrototypeOf(p)) between.unshift(p);
  for (const q of between) (p === null ? untimedSet : timedSet).add(q);
  if (p === null) return;
  for (const q of between) {
    timedPrototypes.push(q as Record<string, Method>);
    if (phaseMarksArmed) markPhases(q as Record<string, Method>);
  }
}

/** Wraps the phases `proto` has (its own or inherited) that no class wrapped yet. */
function markPhases(proto: Record<string, Method>): void {
  for (const phase of PHASES) {
    const original = proto[phase];
    if (typeof original === "function" && !(WRAPPED in original)) proto[phase] = timePhase(original, phase);
  }
}

/**
 * Puts the phase marks of every `@timed` class in place (and of those defined
 * later), once per process: called when a run that times phases starts. Until
 * then a decorated class's methods are its own, so runs that time no phases
 * (no flags, metrics mode) pay nothing per call; a process that traced once
 * keeps the marks, which cost one counter check per call outside such runs.
 */
export function armPhaseMarks(): void {
  if (phaseMarksArmed) return;
  phaseMarksArmed = true;
  for (const proto of timedPrototypes) markPhases(proto);
}

/**
 * Wraps a phase method so that, in an instrumented run, its start is marked:
 * the time since the previous mark goes to the previous phase. Marking
 * starts (not ends) needs one clock read per phase and never wraps the
 * phase's promise; the node's end closes the last phase.
 */
function timePhase(original: Method, phase: Phase): Method {
  // The arguments pass as given (a method reading `args.length` sees what it was called with); rest
  // parameters measured no slower than a fixed arity.
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (ACTIVE.phased !== 0) {
      const scope = scopes.getStore();
      if (scope?.node !== undefined && scope.telemetry.phases) scope.telemetry.enterPhase(scope, phase);
    }
    return original.apply(this, args);
  };
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  Object.defineProperty(wrapped, "name", { value: original.name });
  return wrapped;
}

/**
 * Records the usage of every model call the method makes. The method must
 * resolve to an `LlmResponse`. Before the call and before each retry,
 * a spent budget throws `BudgetExceededError`; each failed attempt is kept
 * as it fails, and the call's usage when it ends, for the run (and node and
 * batch item, when instrumented).
 */
export function llmUsage<This, Args extends unknown[]>(
  original: (this: This, ...args: Args) => Promise<LlmResponse>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<LlmResponse>>,
): (this: This, ...args: Args) => Promise<LlmResponse> {
  if (context.kind !== "method") throw new TypeError("@llmUsage goes on the method that calls a model");
  const wrapped = async function (this: This, ...args: Args): Promise<LlmResponse> {
    const scope = currentScope();
    if (scope === undefined) return await original.apply(this, args);
    const telemetry = scope.telemetry;
    telemetry.checkBudget();
    const started = performance.now();
    // Each failed attempt is kept as it fails (a run killed during the retries has still paid for it), and a
    // budget spent meanwhile stops the retries as it stops the next call.
    const recorded = new Set<LlmFailedAttempt>();
    const hooks: AttemptHooks = {
      onFailedAttempt: (attempt) => {
        recorded.add(attempt);
        telemetry.recordLlmAttempt(attempt, scope);
      },
      beforeRetry: () => telemetry.checkBudget(),
    };
    let response: LlmResponse;
    try {
      response = await withAttemptHooks(hooks, () => original.apply(this, args));
    } catch (error) {
      recordFailure(error, scope, { started, recorded });
      throw error;
    }
    recordAttempts(response.failedAttempts, scope, { retried: true, recorded });
    telemetry.recordLlmCall(response, scope, started);
    return response;
  };
  Object.defineProperty(wrapped, CALLS_MODELS, { value: true });
  return wrapped;
}

/**
 * Records failed attempts not `recorded` yet; each one that was followed by
 * another attempt counts as a retry of the node (`retried`: the last one
 * was, too).
 */
function recordAttempts(
  attempts: LlmFailedAttempt[] | undefined,
  scope: NonNullable<ReturnType<typeof currentScope>>,
  options: { retried: boolean; recorded: ReadonlySet<LlmFailedAttempt> },
): void {
  if (!attempts?.length) return;
  for (const attempt of attempts) {
    if (!options.recorded.has(attempt)) scope.telemetry.recordLlmAttempt(attempt, scope);
  }
  scope.telemetry.onRetry(scope, options.retried ? attempts.length : attempts.length - 1);
}

/**
 * Counts one retry of the running node, for a retry the node makes itself
 * (e.g. asking the model again after a reply that did not match its schema).
 */
export function countRetry(): void {
  const scope = currentScope();
  if (scope !== undefined) scope.telemetry.onRetry(scope);
}

/** Records what a failed model call reported: its failed attempts, or the reply it rejected. */
function recordFailure(
  error: unknown,
  scope: NonNullable<ReturnType<typeof currentScope>>,
  options: { started: number; recorded: ReadonlySet<LlmFailedAttempt> },
): void {
  const { started, recorded } = options;
  const failed = error as { failedAttempts?: unknown; response?: unknown; name?: string; message?: string };
  const response = failed?.response as LlmResponse | undefined;
  if (Array.isArray(failed?.failedAttempts)) {
    recordAttempts(failed.failedAttempts as LlmFailedAttempt[], scope, { retried: false, recorded });
  } else if (response?.usage === undefined && recorded.size > 0) {
    // The call ended between attempts (a spent budget): each attempt but the last was followed by another.
    scope.telemetry.onRetry(scope, recorded.size - 1);
  }
  if (response?.usage !== undefined) {
    recordAttempts(response.failedAttempts, scope, { retried: true, recorded });
    scope.telemetry.recordLlmCall(response, scope, started, {
      type: failed.name ?? "Error",
      message: failed.message ?? String(error),
    });
  }
}

const CALLS_MODELS = Symbol("pflow.llmUsage");
const modelCallers = new WeakMap<object, boolean>();

/**
 * Whether instances of `cls` call models (a method carries `@llmUsage`).
 * A run whose nodes never call models needs no usage scope at all.
 */
export function callsModels(cls: unknown): boolean {
  if (typeof cls !== "function") return false;
  let known = modelCallers.get(cls);
  if (known === undefined) {
    known = false;
    for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const value = Object.getOwnPropertyDescriptor(proto, key)?.value;
        if (typeof value === "function" && CALLS_MODELS in value) known = true;
      }
    }
    modelCallers.set(cls, known);
  }
  return known;
}

/** What a node class contributes to traces. */
export interface TracedOptions {
  /** Param and output names to capture in full (default: all, truncated). */
  capture?: string[];
  /** Param/output names (or nested keys) whose values are always `[REDACTED]`. */
  redact?: string[];
}

const tracedClasses = new WeakMap<object, TracedOptions>();

/** Declares what a node class contributes to traces (read by the trace sink). */
export function traced(options: TracedOptions): <C extends abstract new (...args: never[]) => unknown>(
  target: C,
  context: ClassDecoratorContext<C>,
) => C {
  return (target, context) => {
    if (context.kind !== "class") throw new TypeError("@traced goes on a node class");
    tracedClasses.set(target, options);
    return target;
  };
}

/** The `@traced` options of a node class (walking up its parents), or undefined. */
export function tracedOptionsOf(cls: unknown): TracedOptions | undefined {
  for (let c = cls; typeof c === "function" && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const options = tracedClasses.get(c);
    if (options !== undefined) return options;
  }
  return undefined;
}
