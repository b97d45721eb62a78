/**
 * The address a page loads a media URL from. The built-in simulator's media live on this
 * app (`/api/simulator/media/…`), so they load from the page's own origin whatever host or
 * port the stored URL names (a restart on another port, `localhost` vs `127.0.0.1`) — and
 * with the page's own sign-in cookie. Any other URL is used as it is.
 */
const SIMULATOR_MEDIA =
  /^https?:\/\/[^/]+(\/api\/simulator\/media\/[^/?#]+\/[a-z-]+\.(?:svg|mp4))$/;

export function mediaSrc(url: string): string;
export function mediaSrc(url: string | null): string | null;
export function mediaSrc(url: string | null): string | null {
  if (!url) return url;
  return SIMULATOR_MEDIA.exec(url)?.[1] ?? url;
}
