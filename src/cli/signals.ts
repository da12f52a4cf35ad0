/**
 * SIGINT/SIGTERM handling for a run.
 * @module
 */

/**
 * Makes SIGINT and SIGTERM abort `controller` (the running node is told
 * through its signal and the run ends as interrupted); a second SIGINT exits
 * at once with code 130. Returns the function that removes the handlers.
 */
export function abortOnSignals(controller: AbortController): () => void {
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
