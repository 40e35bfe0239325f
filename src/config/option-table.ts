/**
 * The option table: every option has one flag, one environment variable, one default and one
 * help line, and the commands it applies to. `--help`, the README's options table and the parser
 * (options.ts) all read it.
 */
import { DEFAULT_RUNTIME_ENDPOINT } from '../adapters/cri/endpoint.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../domain/mutable-tags.js';

export type Command = 'scan' | 'registries' | 'agent' | 'cluster' | 'resolver';

type Kind = 'string' | 'duration' | 'list' | 'int' | 'bool' | { choices: readonly string[] };

export interface OptionSpec {
  readonly key: keyof Options;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  /** Default as the user would write it; `undefined` = unset. */
  readonly default: string | undefined;
  /** How the default is shown in help when it is computed. */
  readonly defaultLabel?: string;
  readonly help: string;
  readonly commands: readonly Command[];
  /** A duration of 0 means "off" (the help says what off is). */
  readonly zeroMeansOff?: boolean;
}

export interface Options {
  /** Unset: the detected node layout's socket (see detectSocket). */
  readonly runtimeEndpoint: string | undefined;
  readonly runtimeTimeoutMs: number;
  readonly kubeconfig: string | undefined;
  readonly kubeContext: string | undefined;
  readonly kubeCluster: string | undefined;
  readonly kubeUser: string | undefined;
  readonly kubeAs: string | undefined;
  readonly kubeAsGroups: readonly string[] | undefined;
  readonly nodeName: string;
  readonly kubeTimeoutMs: number;
  readonly output: 'table' | 'wide' | 'json' | 'yaml' | 'auto';
  readonly failOn: 'none' | 'warning' | 'critical';
  readonly mutableTags: readonly string[];
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  readonly hostRoot: string;
  readonly containerdConfig: string | undefined;
  readonly runtimeVersion: string | undefined;
  readonly registryChecks: 'on' | 'off';
  readonly registryAuthFile: string | undefined;
  readonly registryTimeoutMs: number;
  readonly registryCacheTtlMs: number;
  readonly registryHoldMs: number;
  readonly probeListen: string;
  readonly registryMaxTags: number;
  readonly listen: string;
  readonly intervalMs: number;
  readonly livenessTimeoutMs: number;
  readonly apiAuth: 'kubernetes' | 'none';
  readonly events: boolean;
  readonly resolverUrl: string | undefined;
  readonly resolverFallback: number;
  readonly nodeIp: string | undefined;
  readonly resolverBudget: number;
  readonly resolverReplicas: number;
  readonly resolverEndpoints: readonly string[];
  readonly resolverTokenFile: string | undefined;
  readonly resolverAuth: 'kubernetes' | 'none';
  readonly resolverCallers: readonly string[];
  readonly resolverDenyCidrs: readonly string[];
  readonly resolverCallerRate: number;
  readonly resolverNotify: readonly string[];
  readonly resolverPeers: string | undefined;
  readonly resolverNotifiedCacheTtlMs: number;
  readonly resolverWatch: boolean;
  readonly mirrorMaxLagMs: number;
  readonly podName: string | undefined;
  readonly podNamespace: string;
  readonly agentNamespace: string;
  /** Workloads reported by `cluster`: one namespace, or undefined for all. */
  readonly namespace: string | undefined;
  readonly allNamespaces: boolean;
  readonly selector: string | undefined;
  readonly agentSelector: string;
  readonly agentPort: number;
  readonly endpoints: readonly string[] | undefined;
  readonly concurrency: number;
  readonly nodeTimeoutMs: number;
}

export const OPTION_TABLE: readonly OptionSpec[] = [
  {
    key: 'runtimeEndpoint', flag: '--runtime-endpoint', env: 'TAGDRIFT_RUNTIME_ENDPOINT', kind: 'string',
    default: undefined, defaultLabel: `the node layout's socket (k3s/RKE2, MicroK8s, k0s, containerd; else ${DEFAULT_RUNTIME_ENDPOINT})`, help: 'CRI socket of the container runtime (unix:///path or /path)', commands: ['scan', 'registries', 'agent'],
  },
  {
    key: 'runtimeTimeoutMs', flag: '--runtime-timeout', env: 'TAGDRIFT_RUNTIME_TIMEOUT', kind: 'duration',
    default: '10s', help: 'deadline for each CRI call', commands: ['scan', 'registries', 'agent'],
  },
  {
    key: 'kubeconfig', flag: '--kubeconfig', env: 'KUBECONFIG', kind: 'string', default: undefined,
    defaultLabel: 'in-cluster config (cluster: ~/.kube/config)', help: 'kubeconfig for the Kubernetes API (the pods of this node; for cluster, the agent pods; for the resolver, reviewing callers\' tokens)', commands: ['scan', 'agent', 'cluster', 'resolver'],
  },
  {
    key: 'kubeContext', flag: '--context', env: 'TAGDRIFT_CONTEXT', kind: 'string', default: undefined,
    defaultLabel: "the kubeconfig's current context", help: 'kubeconfig context to use (as kubectl --context)', commands: ['scan', 'cluster'],
  },
  {
    key: 'kubeCluster', flag: '--cluster', env: 'TAGDRIFT_CLUSTER', kind: 'string', default: undefined,
    help: 'kubeconfig cluster to use instead of the context\'s (as kubectl --cluster)', commands: ['scan', 'cluster'],
  },
  {
    key: 'kubeUser', flag: '--user', env: 'TAGDRIFT_USER', kind: 'string', default: undefined,
    help: 'kubeconfig user to use instead of the context\'s (as kubectl --user)', commands: ['scan', 'cluster'],
  },
  {
    key: 'kubeAs', flag: '--as', env: 'TAGDRIFT_AS', kind: 'string', default: undefined,
    help: 'user to impersonate for Kubernetes API requests (as kubectl --as)', commands: ['scan', 'cluster'],
  },
  {
    key: 'kubeAsGroups', flag: '--as-group', env: 'TAGDRIFT_AS_GROUP', kind: 'list', default: undefined,
    help: 'groups to impersonate, comma-separated (as kubectl --as-group, which may be repeated)', commands: ['scan', 'cluster'],
  },
  {
    key: 'nodeName', flag: '--node-name', env: 'NODE_NAME', kind: 'string', default: undefined,
    defaultLabel: 'host name', help: 'Kubernetes node name whose pods to read', commands: ['scan', 'agent'],
  },
  {
    key: 'kubeTimeoutMs', flag: '--kube-timeout', env: 'TAGDRIFT_KUBE_TIMEOUT', kind: 'duration',
    default: '10s', help: 'deadline for each Kubernetes API request (kubectl\'s --request-timeout is accepted for it)', commands: ['scan', 'agent', 'cluster'],
  },
  {
    key: 'output', flag: '--output', env: 'TAGDRIFT_OUTPUT', kind: { choices: ['table', 'wide', 'json', 'yaml', 'auto'] },
    default: 'auto', help: 'table for people (wide: with every container), json for machines; auto = table on a terminal, else json', commands: ['scan', 'registries', 'cluster'],
  },
  {
    key: 'failOn', flag: '--fail-on', env: 'TAGDRIFT_FAIL_ON', kind: { choices: ['none', 'warning', 'critical'] },
    default: 'none', help: 'exit 1 when a finding of this severity or worse is reported', commands: ['scan', 'registries', 'cluster'],
  },
  {
    key: 'mutableTags', flag: '--mutable-tags', env: 'TAGDRIFT_MUTABLE_TAGS', kind: 'list',
    default: DEFAULT_MUTABLE_TAG_PATTERNS.join(','), help: 'comma-separated tag patterns treated as mutable (* = wildcard)', commands: ['scan', 'agent', 'cluster'],
  },
  {
    key: 'logLevel', flag: '--log-level', env: 'TAGDRIFT_LOG_LEVEL', kind: { choices: ['error', 'warn', 'info', 'debug'] },
    default: 'warn', help: 'log verbosity (logs go to stderr as JSON lines)', commands: ['scan', 'registries', 'agent', 'cluster', 'resolver'],
  },
  {
    key: 'hostRoot', flag: '--host-root', env: 'TAGDRIFT_HOST_ROOT', kind: 'string', default: '/',
    help: "prefix under which the node's files are read (/host in the DaemonSet)", commands: ['scan', 'registries', 'agent'],
  },
  {
    key: 'containerdConfig', flag: '--containerd-config', env: 'TAGDRIFT_CONTAINERD_CONFIG', kind: 'string',
    default: undefined, defaultLabel: 'detected: k3s, RKE2, MicroK8s, k0s, Talos paths, else /etc/containerd/config.toml',
    help: "containerd's config.toml, as a node path (under --host-root)", commands: ['scan', 'registries', 'agent'],
  },
  {
    key: 'runtimeVersion', flag: '--runtime-version', env: 'TAGDRIFT_RUNTIME_VERSION', kind: 'string', default: undefined,
    defaultLabel: "the runtime's own", help: 'containerd version whose config rules apply, e.g. 1.7.20 or 2.2.0', commands: ['scan', 'registries', 'agent'],
  },
  {
    key: 'registryChecks', flag: '--registry-checks', env: 'TAGDRIFT_REGISTRY_CHECKS', kind: { choices: ['on', 'off'] },
    default: 'on', help: 'ask registries (upstream and the mirror that resolves tags) what each tag points to now', commands: ['scan', 'agent'],
  },
  {
    key: 'registryAuthFile', flag: '--registry-auth-file', env: 'TAGDRIFT_REGISTRY_AUTH_FILE', kind: 'string', default: undefined,
    defaultLabel: 'anonymous', help: 'docker config.json with registry credentials (e.g. a mounted pull secret)', commands: ['scan', 'agent', 'resolver'],
  },
  {
    key: 'registryTimeoutMs', flag: '--registry-timeout', env: 'TAGDRIFT_REGISTRY_TIMEOUT', kind: 'duration',
    default: '10s', help: 'total deadline for each registry request (connecting is capped at 3s)', commands: ['scan', 'agent', 'resolver'],
  },
  {
    key: 'registryCacheTtlMs', flag: '--registry-cache-ttl', env: 'TAGDRIFT_REGISTRY_CACHE_TTL', kind: 'duration',
    default: '60s', help: 'how long a registry answer is reused before the tag is asked again', commands: ['scan', 'agent', 'resolver'],
  },
  {
    key: 'registryHoldMs', flag: '--registry-hold', env: 'TAGDRIFT_REGISTRY_HOLD', kind: 'duration',
    default: '15m', help: "how long a registry or mirror answer stands while later requests for it fail (5xx, unreachable, 429): findings built on it stay, marked with when it was last confirmed; 0 = never held (three default scan intervals)", commands: ['agent'], zeroMeansOff: true,
  },
  {
    key: 'registryMaxTags', flag: '--registry-max-tags', env: 'TAGDRIFT_REGISTRY_MAX_TAGS', kind: 'int',
    default: '500', help: "tags asked per scan: running containers' first, then a window of cached-only tags that moves each scan", commands: ['scan', 'agent'],
  },
  {
    key: 'listen', flag: '--listen', env: 'TAGDRIFT_LISTEN', kind: 'string',
    default: '0.0.0.0:9420', help: 'address:port of the HTTP API and /metrics', commands: ['agent', 'resolver'],
  },
  {
    key: 'probeListen', flag: '--probe-listen', env: 'TAGDRIFT_PROBE_LISTEN', kind: 'string',
    default: '0.0.0.0:9422', help: 'address:port serving only /healthz and /readyz, for kubelet probes: readers of the API port never compete with them', commands: ['agent'],
  },
  {
    key: 'intervalMs', flag: '--interval', env: 'TAGDRIFT_INTERVAL', kind: 'duration',
    default: '5m', help: 'time between scans (each delay varies by ±10 % so agents do not scan in step)', commands: ['agent'],
  },
  {
    key: 'resolverUrl', flag: '--resolver-url', env: 'TAGDRIFT_RESOLVER_URL', kind: 'string', default: undefined,
    help: 'the shared resolver (deploy/components/resolver): tag questions every node asks alike go there; node-local mirrors and endpoints needing node credentials stay on the node', commands: ['agent', 'scan'],
  },
  {
    key: 'resolverTokenFile', flag: '--resolver-token-file', env: 'TAGDRIFT_RESOLVER_TOKEN_FILE', kind: 'string', default: undefined,
    help: 'a projected service-account token with the resolver as its audience, shown to the shared resolver (deploy/components/resolver mounts one)', commands: ['agent', 'scan'],
  },
  {
    key: 'resolverFallback', flag: '--resolver-fallback', env: 'TAGDRIFT_RESOLVER_FALLBACK', kind: 'int', default: '20',
    help: 'tag questions a scan asks registries directly while the shared resolver is down (the rest are reported unverified)', commands: ['agent', 'scan'],
  },
  {
    key: 'nodeIp', flag: '--node-ip', env: 'NODE_IP', kind: 'string', default: undefined,
    help: "this node's address (the downward API's status.hostIP): mirrors there are node-local and never sent to the shared resolver", commands: ['agent', 'scan'],
  },
  {
    key: 'resolverBudget', flag: '--budget', env: 'TAGDRIFT_RESOLVER_BUDGET', kind: 'int', default: '20',
    help: 'registry requests a second per registry host, for the whole cluster (each replica takes its share)', commands: ['resolver'],
  },
  {
    key: 'resolverReplicas', flag: '--replicas', env: 'TAGDRIFT_RESOLVER_REPLICAS', kind: 'int', default: '2',
    help: 'replicas of the resolver sharing the budget', commands: ['resolver'],
  },
  {
    key: 'resolverEndpoints', flag: '--allow-endpoints', env: 'TAGDRIFT_RESOLVER_ENDPOINTS', kind: 'list',
    default: 'https://registry-1.docker.io,https://ghcr.io,https://quay.io,https://registry.k8s.io,https://gcr.io,https://public.ecr.aws,https://mcr.microsoft.com',
    help: 'the registry endpoints (scheme://host[:port][/path]) the resolver may ask; questions for any other endpoint are refused (403) and the agent asks them itself', commands: ['resolver'],
  },
  {
    key: 'resolverAuth', flag: '--caller-auth', env: 'TAGDRIFT_CALLER_AUTH', kind: { choices: ['kubernetes', 'none'] },
    default: 'kubernetes', help: "who may ask the resolver: kubernetes = a bearer token the Kubernetes API authenticates (TokenReview) as one of --callers; none = anyone who can connect", commands: ['resolver'],
  },
  {
    key: 'resolverCallers', flag: '--callers', env: 'TAGDRIFT_CALLERS', kind: 'list', default: 'system:serviceaccount:tagdrift:tagdrift',
    help: 'identities (as TokenReview names them) that may ask the resolver: the agents\' service account', commands: ['resolver'],
  },
  {
    key: 'resolverDenyCidrs', flag: '--deny-cidrs', env: 'TAGDRIFT_DENY_CIDRS', kind: 'list', default: '',
    help: 'address ranges the resolver never contacts, besides loopback, link-local and unspecified (set the cluster\'s service and pod ranges)', commands: ['resolver'],
  },
  {
    key: 'resolverNotify', flag: '--notify', env: 'TAGDRIFT_NOTIFY', kind: 'list', default: '',
    help: 'registries that announce pushes to POST /v1/notifications, as endpoint=secret-file (the endpoint as in --allow-endpoints; the file holds the shared secret the registry sends as "Authorization: Bearer <secret>", at least 16 characters)', commands: ['resolver'],
  },
  {
    key: 'resolverPeers', flag: '--peers', env: 'TAGDRIFT_RESOLVER_PEERS', kind: 'string', default: undefined,
    help: "a DNS name whose addresses are all the resolver's replicas (a headless Service): a notification one replica takes is passed to the others on the same port", commands: ['resolver'],
  },
  {
    key: 'resolverNotifiedCacheTtlMs', flag: '--notified-cache-ttl', env: 'TAGDRIFT_NOTIFIED_CACHE_TTL', kind: 'duration', default: '15m',
    help: 'how long an answer from an endpoint listed in --notify is reused: its pushes replace answers at once, so it is asked less often than others (--registry-cache-ttl)', commands: ['resolver'],
  },
  {
    key: 'resolverWatch', flag: '--resolver-watch', env: 'TAGDRIFT_RESOLVER_WATCH', kind: 'bool', default: 'true',
    help: "follow the shared resolver's feed of pushed tags (a long poll): a push to a tag this node checks starts a scan within seconds", commands: ['agent'],
  },
  {
    key: 'mirrorMaxLagMs', flag: '--mirror-max-lag', env: 'TAGDRIFT_MIRROR_MAX_LAG', kind: 'duration', default: '30m',
    help: "how long a mirror may answer a tag's old digest after upstream moved before TagdriftMirrorLagging fires (the mirror's refresh period; exported as tagdrift_mirror_lag_limit_seconds)", commands: ['agent'],
  },
  {
    key: 'resolverCallerRate', flag: '--caller-rate', env: 'TAGDRIFT_CALLER_RATE', kind: 'int', default: '50',
    help: 'questions a second one caller may ask (bursts up to 10 seconds\' worth); beyond it 429', commands: ['resolver'],
  },
  {
    key: 'events', flag: '--events', env: 'TAGDRIFT_EVENTS', kind: 'bool', default: 'false',
    help: 'post a Warning event to each pod a running-stale, running-superseded or mirror-stale finding names (needs deploy/components/events)', commands: ['agent'],
  },
  {
    key: 'apiAuth', flag: '--api-auth', env: 'TAGDRIFT_API_AUTH', kind: { choices: ['kubernetes', 'none'] },
    default: 'kubernetes', help: 'who may read /v1/*: kubernetes = loopback (kubectl port-forward) or a bearer token the Kubernetes API accepts for get pods/proxy on this pod; none = anyone who can connect', commands: ['agent'],
  },
  {
    key: 'podName', flag: '--pod-name', env: 'POD_NAME', kind: 'string', default: undefined,
    help: "this agent's pod (the downward API's metadata.name), for --api-auth kubernetes", commands: ['agent'],
  },
  {
    key: 'podNamespace', flag: '--pod-namespace', env: 'POD_NAMESPACE', kind: 'string', default: 'tagdrift',
    help: "this agent's namespace (the downward API's metadata.namespace), for --api-auth kubernetes", commands: ['agent'],
  },
  {
    key: 'livenessTimeoutMs', flag: '--liveness-timeout', env: 'TAGDRIFT_LIVENESS_TIMEOUT', kind: 'duration',
    default: '5m', help: '/healthz fails once the runtime has not answered this long (or no scan finished this long past an interval), so the kubelet restarts the agent; 0 = never', commands: ['agent'], zeroMeansOff: true,
  },
  {
    key: 'agentNamespace', flag: '--agent-namespace', env: 'TAGDRIFT_AGENT_NAMESPACE', kind: 'string',
    default: 'tagdrift', help: 'namespace of the agent pods (deploy/ installs them in tagdrift)', commands: ['cluster'],
  },
  {
    key: 'namespace', flag: '--namespace', env: 'TAGDRIFT_NAMESPACE', kind: 'string', default: undefined,
    defaultLabel: 'all namespaces', help: 'report only the workloads of this namespace (-n, as kubectl)', commands: ['cluster'],
  },
  {
    key: 'allNamespaces', flag: '--all-namespaces', env: 'TAGDRIFT_ALL_NAMESPACES', kind: 'bool', default: 'false',
    help: 'report the workloads of every namespace (-A, as kubectl; the default)', commands: ['cluster'],
  },
  {
    key: 'selector', flag: '--selector', env: 'TAGDRIFT_SELECTOR', kind: 'string', default: undefined,
    defaultLabel: 'every workload', help: 'report only the workloads whose pods match this label selector (-l, as kubectl)', commands: ['cluster'],
  },
  {
    key: 'agentSelector', flag: '--agent-selector', env: 'TAGDRIFT_AGENT_SELECTOR', kind: 'string',
    default: 'app.kubernetes.io/name=tagdrift,app.kubernetes.io/component=agent', help: 'label selector of the agent pods (in --agent-namespace)', commands: ['cluster'],
  },
  {
    key: 'agentPort', flag: '--agent-port', env: 'TAGDRIFT_AGENT_PORT', kind: 'int',
    default: '9420', help: "agents' HTTP port (reached through the API server's pod proxy)", commands: ['cluster'],
  },
  {
    key: 'endpoints', flag: '--endpoints', env: 'TAGDRIFT_ENDPOINTS', kind: 'list', default: undefined,
    defaultLabel: 'discover through the API', help: 'comma-separated agent URLs to ask directly instead (e.g. port-forwards)', commands: ['cluster'],
  },
  {
    key: 'concurrency', flag: '--concurrency', env: 'TAGDRIFT_CONCURRENCY', kind: 'int',
    default: '32', help: 'agents asked at the same time', commands: ['cluster'],
  },
  {
    key: 'nodeTimeoutMs', flag: '--node-timeout', env: 'TAGDRIFT_NODE_TIMEOUT', kind: 'duration',
    default: '5s', help: "deadline for one node's report", commands: ['cluster'],
  },
];
