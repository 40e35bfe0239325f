/**
 * What the agent's HTTP API answers when it does not answer a report: a stable machine
 * code beside the human text. The cluster command (and any other client) decides on the
 * code; the text may change between releases.
 */

export const AGENT_ERROR_CODES = [
  /** No scan has finished yet: ask again shortly. */
  'no-report',
  /** The request target or query was refused (the text says which part). */
  'bad-request',
  /** No token, or one the Kubernetes API did not accept. */
  'unauthenticated',
  /** The token's user may not get pods/proxy on this agent's pod. */
  'forbidden',
  /** The agent could not check the token now (the API is slow or too many reviews are in flight). */
  'auth-unavailable',
  'not-found',
  /** Too many large answers are being written at once: ask again, or ask with gzip. */
  'busy',
  'internal',
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export interface AgentError {
  readonly code: AgentErrorCode;
  readonly error: string;
}

/** The JSON schema of an error body, as the OpenAPI document publishes it. */
export const AGENT_ERROR_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'string', enum: AGENT_ERROR_CODES }, error: { type: 'string' } },
  required: ['code', 'error'],
} as const;

export function agentError(code: AgentErrorCode, error: string): AgentError {
  return { code, error };
}

const CODES: ReadonlySet<string> = new Set(AGENT_ERROR_CODES);

/** An error body read from an agent, or undefined when the body is not one (an older agent, a proxy's page). */
export function parseAgentError(doc: unknown): AgentError | undefined {
  if (!doc || typeof doc !== 'object') return undefined;
  const { code, error } = doc as { code?: unknown; error?: unknown };
  if (typeof code !== 'string' || !CODES.has(code) || typeof error !== 'string') return undefined;
  return { code: code as AgentErrorCode, error: error.slice(0, 200) };
}

/** The HTTP status an error code is sent with (auth decisions carry their own). */
export function statusOf(code: AgentErrorCode): number {
  switch (code) {
    case 'no-report':
    case 'busy':
    case 'auth-unavailable':
      return 503;
    case 'bad-request':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
      return 404;
    case 'internal':
      return 500;
  }
}
