import { handle } from "@/lib/http/errors";
import { projectListEventStream } from "@/lib/projects/events";

export const dynamic = "force-dynamic";

// GET /api/v1/projects/events – text/event-stream: `changed` {"ids":[…]} whenever projects change,
// so the list page refetches only when something moved
export const GET = handle(async (request: Request) => projectListEventStream(request.signal));
