import { z } from "zod";

/** Only absolute http(s) URLs: a `javascript:` or `data:` URL never reaches a page or a service. */
export const httpUrl = z
  .string()
  .max(4096)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an absolute http(s) URL");
