/**
 * `npm run golden`: (re)writes the golden registry plans of the node-config scenarios.
 * The only writer of test/golden/: test runs compare and never write. Review the diff.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXTERNAL_CORPUS, EXTERNAL_GOLDEN, externalCorpusPresent, externalScenarios, goldenText, OWN_GOLDEN, ownScenarios, type Scenario } from '../test/corpus/scenarios.js';

function write(dir: string, scenarios: Scenario[]): void {
  mkdirSync(dir, { recursive: true });
  for (const s of scenarios) writeFileSync(join(dir, `${s.name}.json`), goldenText(s));
  console.log(`wrote ${scenarios.length} goldens to ${dir}`);
}

write(OWN_GOLDEN, ownScenarios());
if (externalCorpusPresent()) write(EXTERNAL_GOLDEN, externalScenarios());
else console.log(`external corpus not found at ${EXTERNAL_CORPUS}: its goldens were left as they are`);
