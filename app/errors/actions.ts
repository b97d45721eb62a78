"use server";

import { revalidatePath } from "next/cache";
import { isAdminRequest } from "@/lib/auth/server";
import { AppError } from "@/lib/http/errors";
import { dismissError, parseLogId } from "@/lib/observability/queries";

/** The errors page's Dismiss button (works without JavaScript). */
export async function dismissErrorAction(form: FormData): Promise<void> {
  if (!(await isAdminRequest())) throw new AppError("unauthorized", "Sign in first");
  const id = parseLogId(String(form.get("id") ?? ""));
  if (id !== null) await dismissError(id);
  revalidatePath("/errors");
}
