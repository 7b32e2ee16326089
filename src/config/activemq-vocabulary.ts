/**
 * ActiveMQ 5.x names that are accepted but have no effect here (from ActiveMQ's XML reference
 * and the xbean properties of BrokerService, KahaDBPersistenceAdapter, LevelDBStore,
 * ElectingLevelDBStore, JDBCPersistenceAdapter, PolicyEntry and RedeliveryPolicy). Accepting
 * them lets a real activemq.xml load; each use is reported as a warning. Names not listed here
 * or mapped by the loader are errors, so a typo is never silently ignored.
 */

export const BROKER_IGNORED_ATTRIBUTES = [
  'useJmx', 'advisorySupport', 'useShutdownHook', 'start', 'brokerId', 'deleteAllMessagesOnStartup',
  'enableStatistics', 'populateJMSXUserID', 'useAuthenticatedPrincipalForJMSXUserID', 'offlineDurableSubscriberTimeout',
  'offlineDurableSubscriberTaskSchedule', 'schedulePeriodForDestinationPurge', 'maxPurgedDestinationsPerSweep',
  'networkConnectorStartAsync', 'useMirroredQueues', 'useTempMirroredQueues', 'keepDurableSubsActive',
  'splitSystemUsageForProducersConsumers', 'producerSystemUsagePortion', 'consumerSystemUsagePortion', 'monitorConnectionSplits',
  'restartAllowed', 'cacheTempDestinations', 'timeBeforePurgeTempDestinations', 'allowTempAutoCreationOnSend',
  'dedicatedTaskRunner', 'persistenceThreadPriority', 'taskRunnerPriority', 'rejectDurableConsumers',
  'anonymousProducerAdvisorySupport', 'passiveSlave', 'shutdownOnMasterFailure', 'shutdownOnSlaveFailure', 'waitForSlave',
  'waitForSlaveTimeout', 'tmpDataDirectory', 'schedulerDirectory', 'mbeanInvocationTimeout', 'useLocalHostBrokerName',
  'useLoggingForShutdownErrors', 'systemExitOnShutdown', 'systemExitOnShutdownExitCode', 'startAsync',
  'storeOpenWireVersion', 'maxUncommittedCount', 'rollbackOnlyOnAsyncException', 'adjustUsageLimits',
  'networkConnectorURIs', 'transportConnectorURIs', 'shutdownOnStoreException',
] as const;

export const BROKER_IGNORED_CHILDREN = [
  'managementContext', 'networkConnectors', 'shutdownHooks', 'destinations', 'sslContext',
  'tempDataStore', 'producerSystemUsage', 'consumerSystemUsage', 'jobSchedulerStore', 'ioExceptionHandler', 'services',
  'proxyConnectors', 'jmsBridgeConnectors', 'adminView', 'brokerContext', 'destinationFactory', 'networkConnectorURIs',
  'persistenceTaskRunnerFactory', 'taskRunnerFactory', 'transportConnectorURIs', 'messageAuthorizationPolicy',
] as const;

/** `<virtualTopic>` tuning of how ActiveMQ forwards (threads, transactions, limits); forwarding here is one store batch. */
export const VIRTUAL_TOPIC_IGNORED_ATTRIBUTES = ['local', 'concurrentSend', 'transactedSend', 'dropOnResourceLimit', 'setOriginalDestination'] as const;

export const CONNECTOR_IGNORED_ATTRIBUTES = [
  'discoveryUri', 'enableStatusMonitor', 'rebalanceClusterClients', 'updateClusterClients', 'updateClusterClientsOnRemove',
  'updateClusterFilter', 'auditNetworkProducers', 'maximumProducersAllowedPerConnection',
  'maximumConsumersAllowedPerConnection', 'allowLinkStealing', 'warnOnRemoteClose', 'disableAsyncDispatch',
  'publishedAddressPolicy', 'brokerInfo',
] as const;

export const KAHADB_IGNORED_ATTRIBUTES = [
  'indexWriteBatchSize', 'indexDirectory', 'journalMaxWriteBatchSize', 'enableIndexWriteAsync', 'cleanupInterval',
  'checksumJournalFiles', 'ignoreMissingJournalfiles', 'checkForCorruptJournalFiles', 'archiveDataLogs', 'directoryArchive',
  'archiveCorruptedIndex', 'concurrentStoreAndDispatchQueues', 'concurrentStoreAndDispatchTopics', 'maxAsyncJobs',
  'databaseLockedWaitDelay', 'forceRecoverIndex', 'preallocationStrategy', 'preallocationScope', 'journalDiskSyncInterval',
  'indexLFUEvictionFactor', 'indexEnablePageCaching', 'lockKeepAlivePeriod', 'enableAckCompaction', 'compactAcksAfterNoGC',
  'compactAcksIgnoresStoreGrowth', 'purgeRecoveredXATransactionStrategy', 'enableIndexDiskSyncs', 'enableIndexRecoveryFile',
  'enableIndexPageCaching', 'failoverProducersAuditDepth', 'maxFailoverProducersToTrack', 'useLock', 'cleanupOnStop',
  'enableSubscriptionStatistics', 'brokerName', 'journalFilesBeforeCompaction',
] as const;

/** levelDB tuning; the replicated store accepts all of these as well (ActiveMQ docs). */
export const LEVELDB_IGNORED_ATTRIBUTES = [
  'readThreads', 'logWriteBufferSize', 'verifyChecksums', 'paranoidChecks', 'indexFactory', 'indexMaxOpenFiles',
  'indexBlockRestartInterval', 'indexWriteBufferSize', 'indexBlockSize', 'indexCacheSize', 'indexCompression',
  'logCompression', 'flushDelay', 'asyncBufferSize', 'monitorStats', 'failoverProducersAuditDepth',
  'maxFailoverProducersToTrack', 'autoCompactionRatio', 'lockKeepAlivePeriod', 'useLock', 'brokerName',
] as const;

export const REPLICATED_IGNORED_ATTRIBUTES = [...LEVELDB_IGNORED_ATTRIBUTES, 'connectUrl', 'container'] as const;

export const JDBC_IGNORED_ATTRIBUTES = [
  'cleanupPeriod', 'dataDirectory', 'directory', 'lockDataSource', 'transactionIsolation', 'useExternalMessageReferences',
  'useDatabaseLock', 'maxAuditDepth', 'maxProducersToAudit', 'auditRecoveryDepth', 'enableAudit', 'useLock', 'failIfLocked',
  'maxRows', 'changeAutoCommitAllowed', 'stopOnError', 'brokerName',
] as const;

export const JDBC_STATEMENTS_IGNORED_ATTRIBUTES = [
  'messageTableName', 'durableSubAcksTableName', 'lockTableName', 'binaryDataType', 'containerNameDataType', 'msgIdDataType',
  'sequenceDataType', 'longDataType', 'stringIdDataType', 'useExternalMessageReferences', 'useLockCreateWhereClause',
] as const;

export const JDBC_LOCKER_IGNORED_ATTRIBUTES = [
  'dataSource', 'leaseHolderId', 'maxAllowableDiffFromDBTime', 'failIfLocked', 'createTablesOnStartup', 'queryTimeout',
  'lockable',
] as const;

export const POLICY_ENTRY_IGNORED_ATTRIBUTES = [
  'producerFlowControl', 'optimizedDispatch', 'enableAudit', 'useCache', 'expireMessagesPeriod', 'gcInactiveDestinations',
  'inactiveTimoutBeforeGC', 'inactiveTimeoutBeforeGC', 'advisoryForConsumed', 'advisoryForDelivery',
  'advisoryForDiscardingMessages', 'advisoryForFastProducers', 'advisoryForSlowConsumers', 'advisoryWhenFull',
  'advisoryForDispatched', 'alwaysRetroactive', 'blockedProducerWarningInterval', 'cursorMemoryHighWaterMark',
  'storeUsageHighWaterMark', 'durableTopicPrefetch', 'queuePrefetch', 'topicPrefetch', 'queueBrowserPrefetch',
  'optimizeMessageStoreInFlightLimit', 'maxAuditDepth', 'maxProducersToAudit', 'maxQueueAuditDepth', 'maxBrowsePageSize',
  'maxPageSize', 'maxExpirePageSize', 'minimumMessageSize', 'persistJMSRedelivered', 'reduceMemoryFootprint',
  'sendAdvisoryIfNoConsumers', 'strictOrderDispatch', 'timeBeforeDispatchStarts', 'consumersBeforeDispatchStarts',
  'lazyDispatch', 'allConsumersExclusiveByDefault', 'useConsumerPriority', 'useTopicSubscriptionInflightStats',
  'usePrefetchExtension', 'doOptimzeMessageStorage', 'includeBodyForAdvisory', 'gcWithNetworkConsumers',
  'messageGroupMapFactoryType', 'sendDuplicateFromStoreToDLQ', 'sendFailIfNoSpace', 'sendFailIfNoSpaceAfterTimeout',
  'maxDestinations',
] as const;

export const POLICY_ENTRY_IGNORED_CHILDREN = [
  'pendingMessageLimitStrategy', 'dispatchPolicy', 'subscriptionRecoveryPolicy', 'pendingQueuePolicy',
  'pendingDurableSubscriberPolicy', 'pendingSubscriberPolicy', 'messageEvictionStrategy', 'messageGroupMapFactory',
  'networkBridgeFilterFactory', 'slowConsumerStrategy', 'destination',
] as const;

export const DLQ_AUDIT_ATTRIBUTES = ['enableAudit', 'maxProducersToAudit', 'maxAuditDepth', 'expiration'] as const;

export const REDELIVERY_IGNORED_ATTRIBUTES = [
  'useExponentialBackOff', 'backOffMultiplier', 'maximumRedeliveryDelay', 'useCollisionAvoidance',
  'collisionAvoidancePercent', 'preDispatchCheck',
] as const;

/** Plugins that change security: ignoring them would open the broker to everyone, so they fail instead. */
export const SECURITY_PLUGINS = [
  'jaasAuthenticationPlugin', 'jaasCertificateAuthenticationPlugin',
  'jaasDualAuthenticationPlugin', 'cachedLDAPAuthorizationMap',
] as const;

export const IGNORED_PLUGINS = [
  'timeStampingBrokerPlugin', 'statisticsBrokerPlugin', 'loggingBrokerPlugin', 'discardingDLQBrokerPlugin',
  'traceBrokerPathPlugin', 'destinationsPlugin', 'runtimeConfigurationPlugin', 'forcePersistencyModeBrokerPlugin',
  'connectionDotFilePlugin', 'destinationDotFilePlugin', 'multicastTraceBrokerPlugin', 'udpTraceBrokerPlugin',
  'virtualSelectorCacheBrokerPlugin', 'partitionBrokerPlugin', 'camelRoutesBrokerPlugin', 'bean',
] as const;
