import { webhookRoute } from "@/lib/webhooks/route";

// POST /api/webhooks/last-frame-complete – signed callback (CONTRACT.md §2); GET – health check
export const { GET, POST } = webhookRoute("last-frame-complete");
