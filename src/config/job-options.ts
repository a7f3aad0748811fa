import type { TlsMode } from '../http/dispatcher.js';
import type { NamingRules, TargetLocation } from '../ref/naming.js';
import type { Reference } from '../ref/reference.js';
import type { NamespaceSpec, RepositoriesSpec } from '../sources/source-spec.js';
import type { TagFilterRules } from './filters.js';
import type { CommandAccess } from './network.js';
import type { RunLimits } from './run-limits.js';
import type { CommandLineValues, CredentialSource } from './schema.js';

/** Settings that belong to the whole command rather than to one job, resolved and validated once at the edge. */
export interface CommandSettings extends RunLimits, Omit<CommandAccess, 'targetCredentials'> {
  dryRun: boolean;
  json: boolean;
  /** credentials for the target registry (flags or GCRSYNC_USERNAME / GCRSYNC_PASSWORD) */
  targetCredentials?: { username: string; password: string };
  insecureRegistries: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** A hook command with its timeout resolved. */
export interface HookCommand {
  /** a string runs under `sh -c`; a list is the argv, run without a shell */
  run: string | string[];
  timeoutMs: number;
}

/** Where a job's images come from, parsed but not yet listed (image list files are read when the job runs). */
export type JobSource =
  | { kind: 'spec'; spec: NamespaceSpec | RepositoriesSpec }
  | { kind: 'images'; references: Reference[] }
  | { kind: 'imageList'; file: string };

/**
 * One job, every value resolved by precedence: flags > GCRSYNC_* environment > the job > the file's defaults.
 * The settings the command line can set come as schema.ts describes them (a new one lands here by itself).
 */
export interface JobOptions extends Omit<CommandLineValues, 'target' | 'platforms'> {
  name: string;
  sources: JobSource[];
  target: TargetLocation;
  /** `os/arch[/variant]` to keep; empty keeps every platform */
  platforms: string[];
  /** copy OCI 1.1 referrers of each copied image (the referrers API, else the `sha256-<hex>` fallback tag) */
  referrers: boolean;
  naming: NamingRules;
  filters: TagFilterRules;
  hooks: { beforeRepository?: HookCommand; afterPush?: HookCommand };
  /** source images `config validate` shows the mirror names of */
  examples: Reference[];
  /** TLS mode per registry host[:port], as the file sets them (the command merges every job's) */
  tls: Record<string, TlsMode>;
  /** where each registry's credentials come from, as the file sets them */
  credentials: Record<string, CredentialSource>;
  /** `verify:` of the job: which recorded mirrors a sync checks at the target (default: a rolling seventh) */
  verify?: 'always' | 'never' | number;
}

/** What a run of jobs needs: the jobs, plus the settings that belong to the whole command. */
export interface JobsOptions extends CommandSettings {
  /** the config file the jobs came from; undefined when they came from flags and environment only */
  configFile?: string;
  jobs: JobOptions[];
}
