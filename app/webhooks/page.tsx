import type { Metadata } from "next";
import { WebhookEndpoints } from "@/app/components/webhook-endpoints";
import { listEndpoints } from "@/lib/subscriptions/endpoints";

export const metadata: Metadata = { title: "Webhooks" };
export const dynamic = "force-dynamic";

/** Users' endpoints subscribed to project events (CONTRACT §6). */
export default async function WebhooksPage() {
  const { items } = await listEndpoints();
  return (
    <section aria-labelledby="webhooks-heading" className="space-y-4">
      <div>
        <h1 id="webhooks-heading" className="text-2xl font-semibold tracking-tight">
          Webhooks
        </h1>
        <p className="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
          Framechain sends project events to these endpoints, signed with Standard Webhooks (
          <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>)
          and retried for about 11 hours when they do not answer 2xx.
        </p>
      </div>
      <WebhookEndpoints initial={items} />
    </section>
  );
}
