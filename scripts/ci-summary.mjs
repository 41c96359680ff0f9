#!/usr/bin/env node
// Sums the JSON reports vitest wrote into VITEST_JSON_DIR (one per run of
// `npm test`) and prints one plain closing line, "N passed, N failed, N skipped",
// so CI reads the totals of all suites at once. Exits 1 when nothing ran.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? process.env.VITEST_JSON_DIR;
if (!dir) throw new Error("usage: node scripts/ci-summary.mjs <dir with vitest JSON reports>");
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of readdirSync(dir).filter((name) => name.endsWith(".json"))) {
  const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.passed > 0 && totals.failed === 0 ? 0 : 1);
