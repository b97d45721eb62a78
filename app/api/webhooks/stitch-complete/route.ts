import { webhookRoute } from "@/lib/webhooks/route";

// POST /api/webhooks/stitch-complete – signed callback (CONTRACT.md §2); GET – health check
export const { GET, POST } = webhookRoute("stitch-complete");
