"use client";

import { useEffect, useRef, useState } from "react";

export type StreamState = "connecting" | "live" | "reconnecting";

/** How long to wait before opening a new EventSource after the browser gave up on one. */
const REOPEN_MS = 3000;

/**
 * Subscribes to a text/event-stream and calls `handlers[event](data)` for each event.
 * EventSource reconnects by itself after a dropped stream; when it gives up (the server
 * answered an error, e.g. while restarting) this opens a new one after a pause.
 */
export function useEventStream(
  url: string,
  handlers: Record<string, (data: unknown) => void>,
  onReconnected?: () => void,
): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handlersRef = useRef(handlers);
  const reconnectedRef = useRef(onReconnected);
  handlersRef.current = handlers;
  reconnectedRef.current = onReconnected;

  useEffect(() => {
    let source: EventSource | null = null;
    let reopen: ReturnType<typeof setTimeout> | null = null;
    let hadError = false;
    let disposed = false;

    const open = () => {
      source = new EventSource(url);
      source.onopen = () => {
        setState("live");
        if (hadError) reconnectedRef.current?.();
        hadError = false;
      };
      source.onerror = () => {
        hadError = true;
        setState("reconnecting");
        if (source?.readyState === EventSource.CLOSED && !disposed) {
          source.close();
          reopen = setTimeout(open, REOPEN_MS);
        }
      };
      for (const event of Object.keys(handlersRef.current)) {
        source.addEventListener(event, (message) => {
          try {
            handlersRef.current[event]?.(JSON.parse((message as MessageEvent<string>).data));
          } catch {
            // a malformed event is skipped; the next one carries the full state again
          }
        });
      }
    };
    open();
    return () => {
      disposed = true;
      if (reopen) clearTimeout(reopen);
      source?.close();
    };
  }, [url]);

  return state;
}
