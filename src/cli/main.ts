#!/usr/bin/env node
/** Entry point: parses the command line and hands over to a command. No logic lives here. */
import { helpText, loadOptions, OptionsError } from '../config/options.js';
import { EXIT } from './exit.js';
import { packageVersion } from '../version.js';

const USAGE = `tagdrift: finds containers whose image is no longer what their tag points to

Usage:
  tagdrift scan [options]         scan this node once and print the findings
  tagdrift registries [options]   how this node resolves tags (config.toml, hosts.toml), no runtime needed
  tagdrift agent [options]        run as the node agent: scan on an interval, serve the HTTP API and /metrics
  tagdrift cluster [options]      every node's findings merged, and digest drift across nodes (also: kubectl tagdrift)
  tagdrift resolver [options]     the shared resolver: one registry question per tag for the whole cluster
  tagdrift help [command]         show help
  tagdrift --version              print the version

Exit codes (scan): 0 scan ran, 1 findings at or above --fail-on, 2 bad usage, 3 the runtime could not be scanned.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const io = { stdout: process.stdout, isTTY: process.stdout.isTTY === true };
  if (command === '--version' || command === 'version' || rest.includes('--version')) {
    process.stdout.write(`tagdrift ${packageVersion()} (node ${process.version})\n`);
    return EXIT.ok;
  }
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    const which = rest[0];
    process.stdout.write(which === 'scan' || which === 'registries' || which === 'agent' || which === 'cluster' || which === 'resolver' ? `Usage: tagdrift ${which} [options]\n\n${helpText(which)}\n` : USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === 'scan' || command === 'registries' || command === 'agent' || command === 'cluster' || command === 'resolver') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`Usage: tagdrift ${command} [options]\n\n${helpText(command)}\n`);
      return EXIT.ok;
    }
    const options = loadOptions(command, rest, process.env);
    // The agent exits as soon as it has shut down: timers and sockets of requests it
    // abandoned (a registry that never answers) must not keep it past the grace period.
    // Each command loads only its own modules: the agent never pays for the cluster
    // command's rendering or the scan's tables.
    if (command === 'agent') process.exit(await (await import('./agent.js')).runAgent(options));
    if (command === 'resolver') process.exit(await (await import('./resolver.js')).runResolver(options));
    if (command === 'cluster') return (await import('./cluster.js')).runCluster(options, { ...io, stderr: process.stderr, isTTY: process.stdout.isTTY === true });
    return command === 'scan' ? (await import('./scan.js')).runScan(options, io) : (await import('./registries.js')).runRegistries(options, io);
  }
  process.stderr.write(`tagdrift: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  return EXIT.usage;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof OptionsError) {
      process.stderr.write(`tagdrift: ${e.problems.join('\ntagdrift: ')}\n`);
      process.exitCode = EXIT.usage;
    } else {
      // One line for people; the stack only when asked for (TAGDRIFT_TRACE=1).
      const err = e as Error;
      process.stderr.write(process.env['TAGDRIFT_TRACE'] === '1' ? `tagdrift: ${err?.stack ?? String(e)}\n` : `tagdrift: ${String(err?.message ?? e).split('\n')[0]} (TAGDRIFT_TRACE=1 shows where)\n`);
      process.exitCode = EXIT.scanFailed;
    }
  },
);
