/**
 * The zod schema of BrokerConfig, so a config built in code (`new Broker(config)`) gets the
 * same checks as one read from XML. Objects are strict: an unknown key is usually a typo.
 */
import { z } from 'zod';
import { QmqError } from '../util/errors.js';
import { SUPPORTED_SCHEMES } from './connector-uri.js';
import { patternProblem } from './policy-match.js';
import { didYouMean } from './suggest.js';
import type { BrokerConfig, SyncToken } from './types.js';

export const SYNC_TOKENS: readonly SyncToken[] = ['local_mem', 'local_disk', 'remote_mem', 'remote_disk', 'quorum_mem', 'quorum_disk'];

const nonNegativeInt = z.int().min(0);
const positiveInt = z.int().min(1);
const port = z.int().min(0).max(65535);
const bool = z.boolean();

const memorySchema = z.strictObject({ kind: z.literal('memory') });
const groupList = z.array(z.string().min(1));
const aclShape = { read: groupList, write: groupList, admin: groupList };

const journalSchema = z.strictObject({
  kind: z.literal('journal'),
  flavour: z.enum(['kahaDB', 'levelDB', 'default']),
  directory: z.string().min(1),
  journalMaxFileLengthBytes: z.int().min(64 * 1024),
  checkpointIntervalMs: positiveInt,
  enableJournalDiskSyncs: bool,
  indexCacheSize: positiveInt.optional(),
  lockKeepAlivePeriodMs: positiveInt.optional(),
  lockAcquireSleepIntervalMs: positiveInt.optional(),
  failIfLocked: bool.optional(),
});

const replicatedSchema = z.strictObject({
  kind: z.literal('replicatedLevelDB'),
  directory: z.string().min(1),
  replicas: positiveInt,
  bind: z.string().regex(/^tcp:\/\/[^:]*:\d+$/, 'expected tcp://host:port'),
  zkAddress: z.string().min(1),
  zkPath: z.string().regex(/^\/.*[^/]$|^\/$/, 'expected an absolute ZooKeeper path without a trailing "/"'),
  zkPassword: z.string().optional(),
  zkSessionTimeoutMs: positiveInt,
  hostname: z.string().min(1).optional(),
  weight: nonNegativeInt,
  securityToken: z.string().optional(),
  sync: z.array(z.enum(SYNC_TOKENS as [SyncToken, ...SyncToken[]])).min(1),
  syncTimeoutMs: positiveInt,
  journalMaxFileLengthBytes: z.int().min(64 * 1024),
});

const jdbcSchema = z.strictObject({
  kind: z.literal('jdbc'),
  connectionString: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string'),
  tablePrefix: z.string().regex(/^[A-Za-z0-9_]*$/, 'expected letters, digits and "_" only'),
  lockKeepAlivePeriodMs: positiveInt,
  lockAcquireSleepIntervalMs: positiveInt,
  createTablesOnStartup: bool,
});

const connectorSchema = z.strictObject({
  name: z.string().min(1),
  uri: z.string().min(1),
  scheme: z.enum(SUPPORTED_SCHEMES as [string, ...string[]]),
  host: z.string(),
  port,
  options: z.record(z.string(), z.string()),
});

const redeliverySchema = z.strictObject({
  maximumRedeliveries: z.int().min(-1),
  redeliveryDelayMs: nonNegativeInt,
});

const deadLetterSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('shared'), queueName: z.string().min(1), processExpired: bool, processNonPersistent: bool }),
  z.strictObject({
    kind: z.literal('individual'),
    queuePrefix: z.string(),
    topicPrefix: z.string(),
    useQueueForQueueMessages: bool,
    useQueueForTopicMessages: bool,
    processExpired: bool,
    processNonPersistent: bool,
  }),
  z.strictObject({ kind: z.literal('discarding') }),
]);

const wildcardPattern = z.string().superRefine((p, ctx) => {
  const problem = patternProblem(p);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const policySchema = z
  .strictObject({
    queue: wildcardPattern.optional(),
    topic: wildcardPattern.optional(),
    prioritizedMessages: bool,
    memoryLimitBytes: positiveInt.optional(),
    deadLetterStrategy: deadLetterSchema.optional(),
    redeliveryPolicy: redeliverySchema.optional(),
  })
  .refine((p) => (p.queue === undefined) !== (p.topic === undefined), { message: 'set exactly one of "queue" and "topic"' });

export const brokerConfigSchema = z
  .strictObject({
    brokerName: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, ".", "_" and "-" only'),
    dataDirectory: z.string().min(1),
    transportConnectors: z.array(connectorSchema),
    persistence: z.discriminatedUnion('kind', [memorySchema, journalSchema, replicatedSchema, jdbcSchema]),
    policies: z.array(policySchema),
    defaultRedeliveryPolicy: redeliverySchema,
    memoryLimitBytes: positiveInt,
    stomp: z.strictObject({
      maxBodyBytes: positiveInt,
      maxHeaderBytes: positiveInt,
      maxHeaders: positiveInt,
      frameTimeoutMs: positiveInt,
    }),
    virtualTopics: z.array(z.strictObject({ name: wildcardPattern, prefix: z.string(), postfix: z.string() })),
    authentication: z
      .strictObject({
        anonymousAccessAllowed: bool,
        users: z.array(z.strictObject({ username: z.string().min(1), password: z.string(), groups: z.array(z.string()) })),
        anonymousUser: z.string().min(1).optional(),
        anonymousGroup: z.string().min(1).optional(),
      })
      .optional(),
    schedulerSupport: bool.optional(),
    authorization: z
      .strictObject({
        entries: z.array(z.strictObject({ kind: z.enum(['queue', 'topic']), pattern: z.string().min(1), ...aclShape })),
        temp: z.strictObject(aclShape).optional(),
        defaultEntry: z.strictObject(aclShape).optional(),
      })
      .optional(),
    http: z.strictObject({ host: z.string().min(1), port }),
    source: z.string(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.authorization !== undefined && cfg.authentication === undefined) {
      // ActiveMQ's AuthorizationBroker refuses every client without a security context.
      ctx.addIssue({ code: 'custom', path: ['authorization'], message: 'an authorization map needs an authentication plugin (<simpleAuthenticationPlugin>) to know who the users are; without one every client would be refused' });
    }
    const names = new Set<string>();
    const addresses = new Map<string, string>();
    cfg.transportConnectors.forEach((c, i) => {
      if (names.has(c.name)) {
        ctx.addIssue({ code: 'custom', path: ['transportConnectors', i, 'name'], message: `duplicate connector name "${c.name}"` });
      }
      names.add(c.name);
      const address = `${c.host}:${c.port}`;
      const other = addresses.get(address);
      if (c.port !== 0 && other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['transportConnectors', i, 'port'],
          message: `connectors "${other}" and "${c.name}" both listen on ${address}`,
        });
      }
      addresses.set(address, c.name);
    });
  });

/** Every key the schema knows at a path, for "did you mean" on unrecognized keys. */
function knownKeysAt(path: PropertyKey[], input: unknown): string[] {
  let schema: unknown = brokerConfigSchema;
  let value = input;
  for (const key of [...path, undefined]) {
    schema = pickUnionOption(unwrap(schema), value);
    if (key === undefined) break;
    value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
    if (typeof key === 'number') schema = (schema as { element?: unknown }).element;
    else schema = (schema as { shape?: Record<string, unknown> }).shape?.[String(key)];
    if (schema === undefined) return [];
  }
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape === undefined ? [] : Object.keys(shape);
}

interface SchemaInternals {
  def?: { type?: string; innerType?: unknown; in?: unknown; options?: unknown[]; discriminator?: string };
}

function unwrap(schema: unknown): unknown {
  let s = schema as SchemaInternals | undefined;
  // Refinements keep their shape in zod 4; optionals and pipes wrap an inner type.
  while (s?.def?.innerType !== undefined || s?.def?.type === 'pipe') {
    s = (s.def.innerType ?? s.def.in) as SchemaInternals;
  }
  return s;
}

/** For a discriminated union, the option the input's discriminator selects. */
function pickUnionOption(schema: unknown, value: unknown): unknown {
  const def = (schema as SchemaInternals).def;
  if (def?.options === undefined || def.discriminator === undefined) return schema;
  const tag = (value as Record<string, unknown> | undefined)?.[def.discriminator];
  for (const option of def.options) {
    const lit = (option as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape?.[def.discriminator];
    if (lit?.def?.values?.includes(tag)) return option;
  }
  return schema;
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(config)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** One line per problem: `persistence.replicas: Too small: expected number to be >=1`. */
export function describeIssues(error: z.ZodError, input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path, input);
      for (const key of issue.keys) {
        lines.push(
          `${formatPath([...issue.path, key])}: unknown key${didYouMean(key, known) || '.'}` +
            (known.length > 0 ? ` Valid keys: ${known.join(', ')}` : ''),
        );
      }
    } else if (issue.code === 'invalid_union' && issue.path.at(-1) === 'persistence') {
      lines.push(`${formatPath(issue.path)}: expected "kind" to be one of "memory", "journal", "replicatedLevelDB", "jdbc"`);
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}

/** Validates a config built in code or produced by the XML loader; throws CONFIG_INVALID listing every bad path. */
export function validateConfig(cfg: unknown, source = '<code>'): BrokerConfig {
  const withSource =
    cfg !== null && typeof cfg === 'object' && !Array.isArray(cfg) && !('source' in cfg) ? { ...cfg, source } : cfg;
  const result = brokerConfigSchema.safeParse(withSource);
  if (!result.success) {
    const lines = describeIssues(result.error, withSource);
    throw new QmqError('CONFIG_INVALID', `${source}: invalid broker config:\n  - ${lines.join('\n  - ')}`, {
      detail: lines.join('\n'),
    });
  }
  return result.data as BrokerConfig;
}
