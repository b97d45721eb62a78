import { simulatorRoute } from "@/lib/simulator/router";

// /api/simulator/* – the built-in stand-in for the video, last-frame, stitch and
// notification services (dev, demo, tests); 404 unless the simulator is enabled.
export const GET = simulatorRoute("GET");
export const POST = simulatorRoute("POST");
export const DELETE = simulatorRoute("DELETE");
