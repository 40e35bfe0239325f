/** `tagdrift scan`: one scan of this node, printed as a table or the JSON report. */
import { scanNode } from '../scan/scan.js';
import { reachesSeverity } from '../domain/finding-codes.js';
import type { Report } from '../domain/report.js';
import type { Options } from '../config/option-table.js';
import { createLogger } from '../log.js';
import { renderTable } from '../render/table.js';
import { createSources } from './sources.js';
import { terminalSafe } from '../render/safe.js';
import { checkExplicitPaths } from './explicit-paths.js';

/** Exit codes: documented in the README. */
import { EXIT } from './exit.js';
import { outputFormat, serialize, terminalWidth, useColor, wrap } from '../render/output.js';


export async function runScan(options: Options, io: { stdout: NodeJS.WriteStream; isTTY: boolean }): Promise<number> {
  const log = createLogger(options.logLevel);
  checkExplicitPaths(options, ['kubeconfig', 'containerdConfig']);
  const sources = await createSources(options, log);
  try {
    const { report } = await scanNode(sources.deps(), sources.collectOptions(), { mutableTagPatterns: options.mutableTags });
    const format = outputFormat(options.output, io.isTTY);
    io.stdout.write(
      format === 'json' || format === 'yaml'
        ? serialize(report, format)
        : wrap(renderTable(terminalSafe(report), { color: useColor(io.isTTY, process.env), wide: format === 'wide' }), terminalWidth(io.stdout, process.env)),
    );
    return exitCode(report, options.failOn);
  } finally {
    sources.close();
  }
}

export function exitCode(report: Report, failOn: Options['failOn']): number {
  if (!report.sources.runtime.ok || !report.sources.images.ok || !report.sources.containers.ok) return EXIT.scanFailed;
  // The API was configured but could not say what the pods asked for: not a clean scan.
  const pods = report.sources.pods;
  if ((!pods.ok && pods.error?.kind !== 'not-configured') || report.findings.some((f) => f.code === 'node-name-mismatch')) return EXIT.scanFailed;
  return reachesSeverity(report.findings, failOn) ? EXIT.findings : EXIT.ok;
}
