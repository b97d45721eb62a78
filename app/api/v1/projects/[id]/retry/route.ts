import { projectActionHandler } from "../project-action";

// POST /api/v1/projects/{id}/retry – CONTRACT.md §4; 409 when the project's status forbids it
export const POST = projectActionHandler("retry");
