import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ProjectLive } from "@/app/components/project-live";
import { env } from "@/lib/env";
import { AppError } from "@/lib/http/errors";
import { getProjectSnapshot, type ProjectSnapshot } from "@/lib/projects/events";

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
  return <ProjectLive initial={await load(id)} maxAttempts={env.MAX_STAGE_ATTEMPTS} />;
}
