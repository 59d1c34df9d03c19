import type { NotifyEvent, WebhookConfig } from '../config/schema';
import { durationMs } from '../config/units';
import { interpolateEnv } from '../config/interpolate';
import type { OperationContext } from '../context/operation-context';
import { notificationBody, type Notification } from './notification';

/** Default `notify[].timeout`: 5 s, retries included. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5_000;
/** Default `notify[].retries`. */
export const DEFAULT_NOTIFY_RETRIES = 2;

/** A notification that did not arrive: which webhook (by position and host, never its URL) and why. */
export interface NotifyFailure {
  webhook: string;
  event: NotifyEvent;
  error: string;
}

/**
 * Send a notification to every webhook of `notify:` that wants its event on its environment, all at once. Each
 * webhook gets at most its timeout, retries included; what does not arrive is a warning (and returned, for the
 * ledger), never an error: a notification never fails or holds up a deployment longer than its timeout.
 */
export async function notify(ctx: OperationContext, n: Notification): Promise<NotifyFailure[]> {
  const hooks = (ctx.workspace.config.notify ?? [])
    .map((hook, i) => ({ hook, i }))
    .filter(({ hook }) => (hook.events ?? null) === null || hook.events!.includes(n.event))
    .filter(({ hook }) => !hook.environments || hook.environments.includes(n.environment));
  const failures = (await Promise.all(hooks.map(({ hook, i }) => send(ctx, hook, i, n)))).flatMap((f) =>
    f ? [f] : [],
  );
  for (const f of failures)
    ctx.reporter.warn(`notification ${f.event} to ${f.webhook} failed: ${f.error}; the deployment is not affected`);
  return failures;
}

async function send(
  ctx: OperationContext,
  hook: WebhookConfig,
  index: number,
  n: Notification,
): Promise<NotifyFailure | null> {
  let url: string;
  try {
    url = interpolateEnv(hook.url, ctx.env, () => ({
      ...ctx.workspace.file.locate(['notify', index, 'url']),
      key: `notify[${index}].url`,
    }));
  } catch (e) {
    return { webhook: `notify[${index}]`, event: n.event, error: e instanceof Error ? e.message : String(e) };
  }
  let label = `notify[${index}]`;
  try {
    label = `notify[${index}] (${new URL(url).host})`;
  } catch {
    return { webhook: label, event: n.event, error: 'its url is not a URL' };
  }
  const deadline = Date.now() + (hook.timeout === undefined ? DEFAULT_NOTIFY_TIMEOUT_MS : durationMs(hook.timeout));
  const body = JSON.stringify(notificationBody(n, hook.format ?? 'json'));
  const attempts = 1 + (hook.retries ?? DEFAULT_NOTIFY_RETRIES);
  let error = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      error ||= 'timed out';
      break;
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': `dbee/${ctx.toolVersion}` },
        body,
        signal: AbortSignal.timeout(left),
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return null;
      error = `HTTP ${res.status} after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
    } catch (e) {
      const name = e instanceof Error ? e.name : '';
      error =
        name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${hook.timeout ?? '5s'}` : describe(e);
    }
    // A short pause before trying again, inside the deadline.
    if (attempt < attempts)
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(200 * attempt, deadline - Date.now()))));
  }
  // The URL (and its token) never goes into a message.
  return { webhook: label, event: n.event, error: error.split(url).join('<url>') };
}

function describe(e: unknown): string {
  const cause =
    e instanceof Error && e.cause instanceof Error
      ? `: ${(e.cause as NodeJS.ErrnoException).code ?? e.cause.message}`
      : '';
  return `${e instanceof Error ? e.message : String(e)}${cause}`;
}
