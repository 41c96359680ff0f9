/**
 * Deploy bundles to benchmark: the working tree or a git commit, built with
 * `wrangler deploy --dry-run` (without the `[assets]`/`[build]` blocks the
 * REST paths do not use) into a directory with a wrangler.toml beside it.
 * Shared by create.mjs, rest-paired.mjs and broadcast.mjs.
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QUIET_ENV, ROOT, usingBundle, workerOnlyConfig } from "./meettime-server.mjs";

/** Runs wrangler quietly; on failure its output (where wrangler prints its errors) goes into the error. */
function runWrangler(file, args, options) {
  try {
    execFileSync(file, args, options);
  } catch (error) {
    throw new Error(`${file} ${args.join(" ")} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}

/**
 * An older commit may depend on packages the working tree dropped: those
 * are installed (exact versions from its package.json, no scripts) into a
 * scratch directory and aliased in the build, leaving node_modules alone.
 */
function aliasesForMissingDependencies(root, scratch) {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const wanted = { ...manifest.dependencies, ...manifest.devDependencies };
  const missing = Object.keys(wanted).filter((name) => !existsSync(join(ROOT, "node_modules", name)));
  if (missing.length === 0) return "";
  const extra = join(scratch, "extra-deps");
  const specs = missing.map((name) => `${name}@${wanted[name]}`);
  execFileSync(
    "npm",
    ["install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", extra, ...specs],
    { stdio: "ignore" },
  );
  const lines = missing.map((name) => `${JSON.stringify(name)} = ${JSON.stringify(join(extra, "node_modules", name))}`);
  return `\n[alias]\n${lines.join("\n")}\n`;
}

/** `wrangler deploy --dry-run` of the worker in `root`, into `outdir`; `scratch` holds the build's leftovers. */
export function snapshot(root, outdir, scratch) {
  mkdirSync(outdir, { recursive: true });
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  // Outside the tree (others may be working in it), so `main` is absolute.
  const buildConfig = join(scratch, `build-${Date.now()}.toml`);
  writeFileSync(
    buildConfig,
    workerOnlyConfig(toml, join(root, "src/index.ts")) + aliasesForMissingDependencies(root, scratch),
  );
  try {
    runWrangler(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--config", buildConfig, "--outdir", outdir],
      { cwd: root, env: QUIET_ENV, stdio: ["ignore", "pipe", "pipe"] },
    );
  } finally {
    rmSync(buildConfig, { force: true });
  }
  writeFileSync(join(outdir, "wrangler.toml"), workerOnlyConfig(toml, "index.js"));
  return usingBundle(outdir);
}

/**
 * The working tree's worker, snapshotted into `keepIn` (kept), or into a
 * temporary directory that `dispose()` removes. Snapshots are what the
 * servers run, so edits made to src/ mid-run neither reload them nor change
 * what is measured.
 */
export function bundleWorker(keepIn) {
  const outdir = keepIn ?? mkdtempSync(join(tmpdir(), "meettime-bench-bundle-"));
  const bundle = snapshot(ROOT, outdir, outdir);
  return keepIn ? bundle : usingBundle(outdir, () => rmSync(outdir, { recursive: true, force: true }));
}

/** The worker as of a git commit: `git archive` (read-only for the repository) into `scratch`. */
export function snapshotOfRef(ref, scratch, name = "before") {
  const source = join(scratch, `${name}-src`);
  mkdirSync(source, { recursive: true });
  execSync(`git -C ${JSON.stringify(ROOT)} archive ${ref} | tar -x -C ${JSON.stringify(source)}`);
  symlinkSync(join(ROOT, "node_modules"), join(source, "node_modules"));
  return snapshot(source, join(scratch, name), scratch);
}
