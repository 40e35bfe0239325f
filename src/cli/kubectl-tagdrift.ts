#!/usr/bin/env node
/** `kubectl tagdrift …` runs `tagdrift cluster …` (kubectl finds plugins named kubectl-<name> on PATH). */
process.argv.splice(2, 0, 'cluster');
await import('./main.js');
