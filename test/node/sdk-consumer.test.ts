/**
 * The SDK as a TypeScript user gets it: `npm run build:client` writes what
 * package.json's `meettime/client` export names, and a small project
 * (test/node/sdk-consumer/) compiles against it under `bundler` and under
 * `nodenext` resolution with full types: correct code compiles, handler
 * parameters are typed, and a misspelt event name is a compile error.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CONSUMER = join(ROOT, "test/node/sdk-consumer");
const TSC = join(ROOT, "node_modules/.bin/tsc");

interface Diagnostic {
  file: string;
  code: string;
  message: string;
}

/** Compiles the consumer with one of its tsconfigs; its diagnostics (none when it compiles). */
async function compile(config: string): Promise<Diagnostic[]> {
  const output = await run(TSC, ["-p", join(CONSUMER, config), "--pretty", "false"], { cwd: ROOT }).then(
    ({ stdout }) => stdout,
    (failed: { stdout: string }) => failed.stdout,
  );
  return [...output.matchAll(/^(\S+?)\(\d+,\d+\): error (TS\d+): (.*)$/gm)].map(([, file, code, message]) => ({
    file: file!.split("/").at(-1)!,
    code: code!,
    message: message!,
  }));
}

beforeAll(async () => {
  await run("npm", ["run", "build:client"], { cwd: ROOT });
}, 60_000);

describe("the built SDK package", () => {
  it("has every file package.json's exports name", () => {
    const { exports } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const targets = Object.values(exports).flatMap((conditions) => Object.values(conditions as object));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets)
      expect({ target, exists: existsSync(join(ROOT, target)) }).toEqual({ target, exists: true });
  });

  it.concurrent.each(["bundler", "nodenext"])("is fully typed for a project with %s resolution", async (resolution) => {
    const diagnostics = await compile(`tsconfig.${resolution}.json`);
    // consumer.ts compiles (its @ts-expect-error lines prove the handlers are typed); misspelt.ts does not.
    expect(diagnostics).toEqual([
      { file: "misspelt.ts", code: "TS2345", message: expect.stringContaining(`'"chat:new-mesage"'`) },
    ]);
  });
});
