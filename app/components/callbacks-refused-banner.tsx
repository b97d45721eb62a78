import { Icon } from "./icons";

/**
 * On every page while callback endpoints refuse everything for want of a secret
 * (production): otherwise projects sit at "Generating 0%" with nothing on screen saying why.
 */
export function CallbacksRefusedBanner({
  endpoints,
  variables,
}: {
  /** The refusing endpoints and the settings they lack (lib/startup-summary.ts). */
  endpoints: string[];
  variables: string[];
}) {
  if (endpoints.length === 0) return null;
  const plural = endpoints.length > 1;
  return (
    <div
      data-callbacks-refused={endpoints.join(" ")}
      className="border-b border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <p className="mx-auto flex max-w-6xl items-start gap-2 px-3 py-2 text-sm sm:px-4">
        <Icon name="alert" className="mt-0.5 size-4 shrink-0" />
        <span>
          <strong className="font-semibold">Callbacks are being refused.</strong>{" "}
          {endpoints.map((e) => `/api/webhooks/${e}`).join(", ")} {plural ? "answer" : "answers"}{" "}
          503 to every callback because {variables.join(", ")} {plural ? "are" : "is"} not set, so
          projects cannot get past {plural ? "those stages" : "that stage"}. Set{" "}
          {plural ? "them" : "it"} on the server and restart.
        </span>
      </p>
    </div>
  );
}
