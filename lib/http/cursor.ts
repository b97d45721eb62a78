/** Opaque keyset cursors for "newest first" lists: (timestamp, id) of the last item seen. */
export function encodeCursor(at: Date, id: string | number): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

export function decodeCursor(cursor: string | null | undefined): { at: Date; id: string } | null {
  if (!cursor) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || (typeof id !== "string" && typeof id !== "number"))
      return null;
    return { at: date, id: String(id) };
  } catch {
    return null;
  }
}
