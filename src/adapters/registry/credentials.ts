/** Registry credentials from a docker config.json on the agent's filesystem (a mounted pull secret). */
import { readFileSync, statSync } from 'node:fs';
import { CredentialError, parseDockerConfig, type Credential } from './auth.js';

const MAX_AUTH_FILE = 1024 * 1024;

/** host → credential, or an error that names the file and the problem (never a value). */
export function loadCredentials(file: string): Map<string, Credential> | CredentialError {
  try {
    if (statSync(file).size > MAX_AUTH_FILE) return new CredentialError(`--registry-auth-file ${file}: larger than 1 MiB`);
    return parseDockerConfig(readFileSync(file, 'utf8'), file);
  } catch (e) {
    if (e instanceof CredentialError) return new CredentialError(`--registry-auth-file ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    return new CredentialError(`--registry-auth-file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot be read'}`);
  }
}
