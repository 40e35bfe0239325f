/** `host:port` for the servers' --listen and --probe-listen options. */
import { OptionsError } from '../config/options.js';

export function parseListen(listen: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new OptionsError([`${flag} ${JSON.stringify(listen)} is not host:port (e.g. 0.0.0.0:${flag === '--listen' ? 9420 : 9422})`]);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
