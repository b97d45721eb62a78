import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { WebhookEndpointDetail } from "@/app/components/webhook-endpoint-detail";
import { AppError } from "@/lib/http/errors";
import { getEndpoint, listDeliveries } from "@/lib/subscriptions/endpoints";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Webhook endpoint" };

type Props = { params: Promise<{ id: string }> };

export default async function WebhookEndpointPage({ params }: Props) {
  const { id } = await params;
  try {
    const [endpoint, deliveries] = await Promise.all([getEndpoint(id), listDeliveries(id)]);
    return <WebhookEndpointDetail initial={endpoint} initialDeliveries={deliveries.items} />;
  } catch (error) {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  }
}
