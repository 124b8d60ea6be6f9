#!/usr/bin/env node
// The `modelserve` command. Committed rather than built, so that the bin pnpm links into the
// workspace at install time exists before the first build has made dist/cli.js.
import '../dist/cli.js';
