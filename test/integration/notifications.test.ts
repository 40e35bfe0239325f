/**
 * Push to finding on a real node: Debian's docker-registry configured with
 * `notifications.endpoints` (as the README writes it) pointing at a real `tagdrift resolver`
 * process, a real containerd node running a pod from a tag, and a real agent at its default
 * interval (5 min) and cache period. The tag is re-pushed; the agent reports running-stale
 * within 60 s, and the registry's own access log counts what tagdrift asked of it. A control
 * run without notifications, on the same node over the same window, reports nothing and asks
 * no less. Then a resolve-capable mirror on the node that keeps the old digest: the lag the
 * agent exports grows until the mirror is refreshed.
 *
 * There is no Kubernetes API server here: the bed's fake API stands in for it (pods, token
 * reviews of the agents' resolver token).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { freePort, waitFor } from '../../testbed/proc.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';
import { pushImage } from '../../testbed/images.js';
import { CLI, startAgent, type RunningAgent } from '../helpers/cli.js';
import { routableAddress } from '../helpers/routable.js';

const net = routableAddress();
const SECRET = 'registry-notification-secret-7c1d90';
const AGENT_TOKEN = 'agent-projected-token-for-the-resolver';
let bed: TestBed;
let mirror: RunningRegistry;
let notifyPort: number;
let tokenFile: string;
const resolvers: ChildProcess[] = [];
const agents: RunningAgent[] = [];

/** A real `tagdrift resolver`; with `notify`, it takes the registry's notifications on `port`. */
async function startResolver(port: number, notify: boolean): Promise<string> {
  const secretFile = join(bed.dir, 'notify-secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [
    CLI, 'resolver', '--listen', `127.0.0.1:${port}`, '--budget', '50', '--replicas', '1', '--kubeconfig', bed.kubeconfig,
    '--allow-endpoints', bed.upstream.url, ...(notify ? ['--notify', `${bed.upstream.url}=${secretFile}`] : []),
    '--log-level', 'info',
  ], { stdio: ['ignore', openSync(join(bed.dir, `resolver-${port}.log`), 'a'), openSync(join(bed.dir, `resolver-${port}.log`), 'a')] });
  resolvers.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('resolver ready', async () => (await fetch(`${url}/readyz`)).status === 200, 15_000);
  return url;
}

/** Requests tagdrift (the agent or the resolver) made to the registry, from its access log: by tag, and by digest. */
function tagdriftRequests(reg: RunningRegistry, repo: string): { byTag: string[]; byDigest: string[] } {
  const lines = readFileSync(reg.logFile, 'utf8').split('\n').filter((l) => l.includes(`/v2/${repo}/`) && /"tagdrift"/.test(l));
  const paths = lines.map((l) => /"(HEAD|GET) (\/v2\/[^ ]+) HTTP/.exec(l)?.slice(1, 3).join(' ')).filter((x): x is string => x !== undefined);
  return { byTag: paths.filter((p) => /\/manifests\/(?!sha256:)/.test(p)), byDigest: paths.filter((p) => /(manifests|blobs)\/sha256:/.test(p)) };
}

/** What the registry answers for a tag now (a push through skopeo may re-encode the manifest). */
const tagDigest = async (reg: RunningRegistry, repo: string, tag: string) =>
  (await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).headers.get('docker-content-digest')!;
const report = async (ag: RunningAgent) => JSON.parse((await ag.get('/v1/report')).body) as Report;
const staleFor = async (ag: RunningAgent, image: string) => (await report(ag)).findings.find((f) => f.code === 'running-stale' && f.image === image);
const lagMetric = async (ag: RunningAgent, host: string) => Number(new RegExp(`^tagdrift_mirror_lag_seconds\\{mirror="${host.replace(/\./g, '\\.')}"\\} (\\d+)$`, 'm').exec((await ag.get('/metrics')).body)?.[1] ?? NaN);

/** An agent on the bed asking `resolverUrl`, ready (its first scan done). */
async function readyAgent(resolverUrl: string, extra: readonly string[] = []): Promise<RunningAgent> {
  const agent = await startAgent([...bed.scanArgs(), '--resolver-url', resolverUrl, '--resolver-token-file', tokenFile, ...extra], await freePort());
  agents.push(agent);
  await waitFor('agent ready', async () => (await agent.get('/readyz')).status === 200, 30_000);
  return agent;
}

beforeAll(async () => {
  notifyPort = await freePort();
  bed = await TestBed.start({
    nodeName: 'node-push', registryAddress: net.address,
    registryNotifications: { url: `http://127.0.0.1:${notifyPort}/v1/notifications`, authorization: `Bearer ${SECRET}` },
  });
  bed.kube.tokens.set(AGENT_TOKEN, { username: 'system:serviceaccount:tagdrift:tagdrift', groups: ['system:serviceaccounts'], audiences: ['tagdrift-resolver'] });
  tokenFile = join(bed.dir, 'resolver-token');
  writeFileSync(tokenFile, `${AGENT_TOKEN}\n`);
  for (const [repo, pod] of [['shop/web', 'web-0'], ['shop/api', 'api-0']] as const) {
    const v1 = await bed.publish(repo, '1.0', { version: `${repo}-1` });
    await bed.kubelet.runPod({ namespace: 'shop', name: pod, owner: { kind: 'StatefulSet', name: pod.slice(0, 3) }, containers: [{ name: 'c', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
  }
}, 240_000);

afterAll(async () => {
  for (const ag of agents) await ag.stop();
  for (const r of resolvers) r.kill('SIGTERM');
  await mirror?.stop();
  await bed?.stop();
  net.cleanup();
}, 120_000);

let pushToFindingMs = 0;
let notifiedTagRequests = 0;

describe('push to finding on a real node', () => {
  it('docker-registry notifies the resolver; the agent at its default interval reports running-stale within 60 s, asking the registry no tag question', async () => {
    const resolverUrl = await startResolver(notifyPort, true);
    const agent = await readyAgent(resolverUrl);
    const image = `${bed.upstream.host}/shop/web:1.0`;
    expect(await staleFor(agent, image)).toBeUndefined();
    const before = tagdriftRequests(bed.upstream, 'shop/web');

    const pushed = Date.now();
    await bed.publish('shop/web', '1.0', { version: 'shop/web-2' });
    const pushedDigest = await tagDigest(bed.upstream, 'shop/web', '1.0');
    try {
      await waitFor('running-stale for the pushed digest', async () => (await staleFor(agent, image))?.evidence.registryDigest === pushedDigest, 60_000);
    } catch (e) {
      process.stdout.write(`pushed ${pushedDigest}; finding: ${JSON.stringify(await staleFor(agent, image))}\n`);
      process.stdout.write(`registry log (notifications):\n${readFileSync(bed.upstream.logFile, 'utf8').split('\n').filter((l) => /notif|endpoint|sink|tagdrift/i.test(l)).slice(-30).join('\n')}\nresolver log:\n${readFileSync(join(bed.dir, `resolver-${notifyPort}.log`), 'utf8').slice(-3000)}\nagent:\n${agent.output().slice(-3000)}\n`);
      throw e;
    }
    pushToFindingMs = Date.now() - pushed;
    process.stdout.write(`push to finding: ${pushToFindingMs} ms (interval 5m, cache 60s)\n`);
    expect(pushToFindingMs).toBeLessThan(60_000);

    const f = (await staleFor(agent, image))!;
    expect(f.severity).toBe('critical');
    expect(f.evidence).toMatchObject({ registryDigest: pushedDigest, registrySince: { digest: pushedDigest, via: 'notification', moved: true } });
    expect(f.message).toMatch(/moved at .*announced by the registry/);
    // The answer came from the notification: no tag question reached the registry; what the
    // agent read by digest is the new image's manifest and config (its build labels), read once.
    const after = tagdriftRequests(bed.upstream, 'shop/web');
    notifiedTagRequests = after.byTag.length - before.byTag.length;
    expect(notifiedTagRequests).toBe(0);
    const digestReads = after.byDigest.slice(before.byDigest.length);
    expect(digestReads.length).toBeLessThanOrEqual(3);
    for (const p of digestReads) expect(p).toMatch(new RegExp(`${pushedDigest}|blobs/sha256:`));
    const metrics = await (await fetch(`${resolverUrl}/metrics`)).text();
    expect(metrics).toMatch(/^tagdrift_resolver_notifications_total\{result="accepted"\} [1-9]/m);
  });

  it('control, without notifications, same node, same window: no finding, and no fewer tag questions to the registry', async () => {
    const resolverUrl = await startResolver(await freePort(), false);
    const agent = await readyAgent(resolverUrl);
    const image = `${bed.upstream.host}/shop/api:1.0`;
    expect(await staleFor(agent, image)).toBeUndefined();
    const before = tagdriftRequests(bed.upstream, 'shop/api');
    await bed.publish('shop/api', '1.0', { version: 'shop/api-2' });
    // The same window the notified run needed, and at least 20 s.
    const window = Math.max(20_000, 2 * pushToFindingMs);
    await new Promise((r) => setTimeout(r, window));
    expect(await staleFor(agent, image)).toBeUndefined();
    const controlTagRequests = tagdriftRequests(bed.upstream, 'shop/api').byTag.length - before.byTag.length;
    process.stdout.write(`tag questions to the registry in ${window} ms after a push: ${notifiedTagRequests} with notifications, ${controlTagRequests} without\n`);
    expect(notifiedTagRequests).toBeLessThanOrEqual(controlTagRequests);
    await agent.stop();
    agents.splice(agents.indexOf(agent), 1);
  }, 120_000);

  it("a mirror that keeps the old digest: the lag it exports grows until the mirror is refreshed", async () => {
    mirror = await startRegistry(bed.dir, 'mirror');
    const lag1 = await bed.publish('shop/lag', '1.0', { version: 'lag-1' });
    await pushImage(lag1, `${mirror.host}/shop/lag:1.0`);
    bed.containerd.writeRoutes([{ host: bed.upstream.host, serverUrl: bed.upstream.url, mirrors: [{ url: mirror.url, capabilities: ['pull', 'resolve'] }] }]);
    await bed.kubelet.runPod({ namespace: 'shop', name: 'lag-0', owner: { kind: 'StatefulSet', name: 'lag' }, containers: [{ name: 'c', image: lag1.ref, imagePullPolicy: 'IfNotPresent' }] });
    const agent = await readyAgent(`http://127.0.0.1:${notifyPort}`, ['--interval', '3s', '--registry-cache-ttl', '2s']);
    await waitFor('the mirror reported current', async () => (await lagMetric(agent, mirror.host)) === 0, 20_000);

    const lag2 = await bed.publish('shop/lag', '1.0', { version: 'lag-2' });
    await waitFor('mirror-stale with a lag', async () => (await report(agent)).findings.some((f) => f.code === 'mirror-stale' && f.image === `${bed.upstream.host}/shop/lag:1.0`), 30_000);
    const first = await lagMetric(agent, mirror.host);
    await new Promise((r) => setTimeout(r, 8_000));
    const second = await lagMetric(agent, mirror.host);
    process.stdout.write(`mirror lag: ${first} s, then ${second} s\n`);
    expect(second).toBeGreaterThan(first);
    const f = (await report(agent)).findings.find((x) => x.code === 'mirror-stale')!;
    expect(f.evidence).toMatchObject({ registrySince: { via: 'notification', moved: true } });
    expect(f.message).toMatch(/behind for \d/);

    // The mirror refreshed: the lag is gone once the node's cached mirror answer expires (2 s here).
    await pushImage(lag2, `${mirror.host}/shop/lag:1.0`);
    await waitFor('lag back to 0', async () => (await lagMetric(agent, mirror.host)) === 0, 20_000);
    expect((await report(agent)).findings.some((x) => x.code === 'mirror-stale')).toBe(false);
  }, 120_000);
});
