import { NextResponse } from "next/server";
import { env } from "@/lib/env";
import { AppError, handle } from "@/lib/http/errors";
import { deliveriesIdle, pumpDeliveries } from "@/lib/jobs/deliveries";
import { sweep } from "@/lib/jobs/dispatcher";
import { safeEqual } from "@/lib/services/signing";

// GET /api/cron/tick – one sweep pass, for hosts without long-lived processes (Bearer CRON_SECRET)
export const GET = handle(async (request: Request) => {
  if (!env.CRON_SECRET)
    throw new AppError("not_found", "Cron tick is disabled: set CRON_SECRET to enable it");
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  if (!safeEqual(given, Buffer.from(`Bearer ${env.CRON_SECRET}`))) {
    throw new AppError("unauthorized", "Invalid cron secret");
  }
  const result = await sweep();
  // Outgoing webhooks due now (retries included), delivered before this request ends.
  await pumpDeliveries();
  await deliveriesIdle();
  return NextResponse.json(result);
});
