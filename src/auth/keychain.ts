/** Credentials for one registry, as found in flags, environment or the Docker config. */
export type Credentials =
  | { username: string; password: string }
  | { identityToken: string; username?: string }
  | { registryToken: string };

/** Answers "which credentials go to this registry host?"; undefined means anonymous. */
export interface Keychain {
  resolve(registry: string, signal?: AbortSignal): Promise<Credentials | undefined>;
}
