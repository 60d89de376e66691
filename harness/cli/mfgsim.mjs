#!/usr/bin/env node
// Entry point of `npx mfgsim`: the CLI from dist/, or from the TypeScript sources when the build is missing or
// stale (see launch.mjs).
import { importProject } from "./launch.mjs";

await importProject("harness/cli/main");
