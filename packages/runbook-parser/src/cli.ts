#!/usr/bin/env node
import { nodeIo, runLint } from "./internal/lint.js";

process.exitCode = await runLint(process.argv.slice(2), nodeIo);
