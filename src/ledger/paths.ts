/**
 * Where the ledger lives in a pflow home (no SQLite code: run start-up imports this).
 * @module
 */
import { join } from "node:path";

/** The ledger database of a pflow home. */
export function ledgerFile(home: string): string {
  return join(home, "ledger.db");
}

/** The inbox of run rows not yet in the database (see inbox.ts). */
export function inboxFile(home: string): string {
  return join(home, "ledger-inbox.jsonl");
}
