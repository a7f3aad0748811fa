/** Credentials for one registry, as found in flags, environment or the Docker config. */
export type Credentials =
  | { username: string; password: string }
  | { identityToken: string; username?: string }
  | { registryToken: string };
