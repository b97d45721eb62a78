/** Next 16 passes dynamic route params as a Promise. */
export type IdRouteContext = { params: Promise<{ id: string }> };
