import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ProjectEmittedEvents } from "@/app/components/project-emitted-events";
import { ProjectLive } from "@/app/components/project-live";
import { env } from "@/lib/env";
import { AppError } from "@/lib/http/errors";
import { getProjectSnapshot, type ProjectSnapshot } from "@/lib/projects/events";
import { listProjectEvents } from "@/lib/subscriptions/endpoints";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

async function load(id: string): Promise<ProjectSnapshot> {
  try {
    return await getProjectSnapshot(id);
  } catch (error) {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const snapshot = await load(id);
  return { title: snapshot.project.name };
}

export default async function ProjectPage({ params }: Props) {
  const { id } = await params;
  const [snapshot, events] = await Promise.all([load(id), listProjectEvents(id)]);
  return (
    <div className="space-y-8">
      <ProjectLive initial={snapshot} maxAttempts={env.MAX_STAGE_ATTEMPTS} />
      <ProjectEmittedEvents events={events} />
    </div>
  );
}
