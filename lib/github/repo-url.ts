/** The host GitHub's web (and clone URLs) answer on for an API URL: github.com for api.github.com, the host itself for GitHub Enterprise. */
function webHost(apiUrl: string): string {
  const api = new URL(apiUrl);
  return api.hostname === 'api.github.com' ? 'github.com' : api.host;
}

/** owner/name of a repository on the configured GitHub from a clone or web URL (a Gitea mirror's original_url), or undefined if it is elsewhere. */
export function githubRepoOf(url: string, apiUrl: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.host.replace(/^www\./, '') !== webHost(apiUrl)) return undefined;
  const match = parsed.pathname.match(/^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/);
  return match ? `${match[1]}/${match[2]}` : undefined;
}
