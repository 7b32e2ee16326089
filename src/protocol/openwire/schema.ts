/**
 * The OpenWire v12 data structures we read and write, as tables: each type's number and its
 * fields in wire order. The order is the protocol itself (ActiveMQ 5.17's `openwire/v12`
 * marshallers define it); the codec walks these tables, so no type has code of its own.
 *
 * Field kinds, in the loose encoding (no tight bit-packing, no marshal cache; we negotiate both
 * off, and the client's own setting is ANDed with ours):
 * - `bool`, `byte`, `short`, `int`, `long`: Java DataOutput, big-endian;
 * - `string`: a presence boolean, then DataOutput.writeUTF;
 * - `object`: a presence boolean, the type byte, then that type's fields;
 * - `objects`: a presence boolean, a 16-bit count, then that many `object`s;
 * - `bytes`: a presence boolean, a 32-bit length, then the bytes;
 * - `throwable`: a presence boolean, class name and message as `string`s (stack traces are
 *   negotiated off);
 * - `magic`: exactly 8 bytes, `ActiveMQ`.
 *
 * Field names are ours. A decoded object keeps its type number in `type`, so JMSType is
 * `jmsType` and TransactionInfo's type is `txType`.
 */
export type FieldKind = 'bool' | 'byte' | 'short' | 'int' | 'long' | 'string' | 'object' | 'objects' | 'bytes' | 'throwable' | 'magic';

export interface TypeSchema {
  readonly name: string;
  readonly fields: readonly (readonly [string, FieldKind])[];
}

export const T = {
  WIREFORMAT_INFO: 1,
  BROKER_INFO: 2,
  CONNECTION_INFO: 3,
  SESSION_INFO: 4,
  CONSUMER_INFO: 5,
  PRODUCER_INFO: 6,
  TRANSACTION_INFO: 7,
  DESTINATION_INFO: 8,
  REMOVE_SUBSCRIPTION_INFO: 9,
  KEEP_ALIVE_INFO: 10,
  SHUTDOWN_INFO: 11,
  REMOVE_INFO: 12,
  CONTROL_COMMAND: 14,
  FLUSH_COMMAND: 15,
  CONNECTION_ERROR: 16,
  CONSUMER_CONTROL: 17,
  CONNECTION_CONTROL: 18,
  PRODUCER_ACK: 19,
  MESSAGE_PULL: 20,
  MESSAGE_DISPATCH: 21,
  MESSAGE_ACK: 22,
  MESSAGE: 23,
  BYTES_MESSAGE: 24,
  MAP_MESSAGE: 25,
  OBJECT_MESSAGE: 26,
  STREAM_MESSAGE: 27,
  TEXT_MESSAGE: 28,
  BLOB_MESSAGE: 29,
  RESPONSE: 30,
  EXCEPTION_RESPONSE: 31,
  DATA_RESPONSE: 32,
  DATA_ARRAY_RESPONSE: 33,
  INTEGER_RESPONSE: 34,
  DISCOVERY_EVENT: 40,
  SUBSCRIPTION_INFO: 55,
  MESSAGE_DISPATCH_NOTIFICATION: 90,
  NETWORK_BRIDGE_FILTER: 91,
  BROKER_SUBSCRIPTION_INFO: 92,
  QUEUE: 100,
  TOPIC: 101,
  TEMP_QUEUE: 102,
  TEMP_TOPIC: 103,
  MESSAGE_ID: 110,
  LOCAL_TRANSACTION_ID: 111,
  XA_TRANSACTION_ID: 112,
  CONNECTION_ID: 120,
  SESSION_ID: 121,
  CONSUMER_ID: 122,
  PRODUCER_ID: 123,
  BROKER_ID: 124,
} as const;

/** The protocol version we speak; a client's lower version is refused (see the session). */
export const OPENWIRE_VERSION = 12;

const command = [
  ['commandId', 'int'],
  ['responseRequired', 'bool'],
] as const;

const response = [...command, ['correlationId', 'int']] as const;

const message = [
  ...command,
  ['producerId', 'object'],
  ['destination', 'object'],
  ['transactionId', 'object'],
  ['originalDestination', 'object'],
  ['messageId', 'object'],
  ['originalTransactionId', 'object'],
  ['groupID', 'string'],
  ['groupSequence', 'int'],
  ['correlationId', 'string'],
  ['persistent', 'bool'],
  ['expiration', 'long'],
  ['priority', 'byte'],
  ['replyTo', 'object'],
  ['timestamp', 'long'],
  ['jmsType', 'string'],
  ['content', 'bytes'],
  ['marshalledProperties', 'bytes'],
  ['dataStructure', 'object'],
  ['targetConsumerId', 'object'],
  ['compressed', 'bool'],
  ['redeliveryCounter', 'int'],
  ['brokerPath', 'objects'],
  ['arrival', 'long'],
  ['userID', 'string'],
  ['recievedByDFBridge', 'bool'],
  ['droppable', 'bool'],
  ['cluster', 'objects'],
  ['brokerInTime', 'long'],
  ['brokerOutTime', 'long'],
  ['jmsXGroupFirstForConsumer', 'bool'],
] as const;

const destination = [['physicalName', 'string']] as const;

export const SCHEMAS: ReadonlyMap<number, TypeSchema> = new Map<number, TypeSchema>([
  [T.WIREFORMAT_INFO, { name: 'WireFormatInfo', fields: [['magic', 'magic'], ['version', 'int'], ['marshalledProperties', 'bytes']] }],
  [T.BROKER_INFO, {
    name: 'BrokerInfo',
    fields: [
      ...command, ['brokerId', 'object'], ['brokerURL', 'string'], ['peerBrokerInfos', 'objects'], ['brokerName', 'string'],
      ['slaveBroker', 'bool'], ['masterBroker', 'bool'], ['faultTolerantConfiguration', 'bool'], ['duplexConnection', 'bool'],
      ['networkConnection', 'bool'], ['connectionId', 'long'], ['brokerUploadUrl', 'string'], ['networkProperties', 'string'],
    ],
  }],
  [T.CONNECTION_INFO, {
    name: 'ConnectionInfo',
    fields: [
      ...command, ['connectionId', 'object'], ['clientId', 'string'], ['password', 'string'], ['userName', 'string'],
      ['brokerPath', 'objects'], ['brokerMasterConnector', 'bool'], ['manageable', 'bool'], ['clientMaster', 'bool'],
      ['faultTolerant', 'bool'], ['failoverReconnect', 'bool'], ['clientIp', 'string'],
    ],
  }],
  [T.SESSION_INFO, { name: 'SessionInfo', fields: [...command, ['sessionId', 'object']] }],
  [T.CONSUMER_INFO, {
    name: 'ConsumerInfo',
    fields: [
      ...command, ['consumerId', 'object'], ['browser', 'bool'], ['destination', 'object'], ['prefetchSize', 'int'],
      ['maximumPendingMessageLimit', 'int'], ['dispatchAsync', 'bool'], ['selector', 'string'], ['clientId', 'string'],
      ['subscriptionName', 'string'], ['noLocal', 'bool'], ['exclusive', 'bool'], ['retroactive', 'bool'], ['priority', 'byte'],
      ['brokerPath', 'objects'], ['additionalPredicate', 'object'], ['networkSubscription', 'bool'],
      ['optimizedAcknowledge', 'bool'], ['noRangeAcks', 'bool'], ['networkConsumerPath', 'objects'],
    ],
  }],
  [T.PRODUCER_INFO, {
    name: 'ProducerInfo',
    fields: [...command, ['producerId', 'object'], ['destination', 'object'], ['brokerPath', 'objects'], ['dispatchAsync', 'bool'], ['windowSize', 'int']],
  }],
  [T.TRANSACTION_INFO, { name: 'TransactionInfo', fields: [...command, ['connectionId', 'object'], ['transactionId', 'object'], ['txType', 'byte']] }],
  [T.DESTINATION_INFO, {
    name: 'DestinationInfo',
    fields: [...command, ['connectionId', 'object'], ['destination', 'object'], ['operationType', 'byte'], ['timeout', 'long'], ['brokerPath', 'objects']],
  }],
  [T.REMOVE_SUBSCRIPTION_INFO, {
    name: 'RemoveSubscriptionInfo',
    fields: [...command, ['connectionId', 'object'], ['subscriptionName', 'string'], ['clientId', 'string']],
  }],
  [T.KEEP_ALIVE_INFO, { name: 'KeepAliveInfo', fields: [...command] }],
  [T.SHUTDOWN_INFO, { name: 'ShutdownInfo', fields: [...command] }],
  [T.REMOVE_INFO, { name: 'RemoveInfo', fields: [...command, ['objectId', 'object'], ['lastDeliveredSequenceId', 'long']] }],
  [T.CONTROL_COMMAND, { name: 'ControlCommand', fields: [...command, ['command', 'string']] }],
  [T.FLUSH_COMMAND, { name: 'FlushCommand', fields: [...command] }],
  [T.CONNECTION_ERROR, { name: 'ConnectionError', fields: [...command, ['exception', 'throwable'], ['connectionId', 'object']] }],
  [T.CONSUMER_CONTROL, {
    name: 'ConsumerControl',
    fields: [...command, ['destination', 'object'], ['close', 'bool'], ['consumerId', 'object'], ['prefetch', 'int'], ['flush', 'bool'], ['start', 'bool'], ['stop', 'bool']],
  }],
  [T.CONNECTION_CONTROL, {
    name: 'ConnectionControl',
    fields: [
      ...command, ['close', 'bool'], ['exit', 'bool'], ['faultTolerant', 'bool'], ['resume', 'bool'], ['suspend', 'bool'],
      ['connectedBrokers', 'string'], ['reconnectTo', 'string'], ['rebalanceConnection', 'bool'], ['token', 'bytes'],
    ],
  }],
  [T.PRODUCER_ACK, { name: 'ProducerAck', fields: [...command, ['producerId', 'object'], ['size', 'int']] }],
  [T.MESSAGE_PULL, {
    name: 'MessagePull',
    fields: [...command, ['consumerId', 'object'], ['destination', 'object'], ['timeout', 'long'], ['correlationId', 'string'], ['messageId', 'object']],
  }],
  [T.MESSAGE_DISPATCH, {
    name: 'MessageDispatch',
    fields: [...command, ['consumerId', 'object'], ['destination', 'object'], ['message', 'object'], ['redeliveryCounter', 'int']],
  }],
  [T.MESSAGE_ACK, {
    name: 'MessageAck',
    fields: [
      ...command, ['destination', 'object'], ['transactionId', 'object'], ['consumerId', 'object'], ['ackType', 'byte'],
      ['firstMessageId', 'object'], ['lastMessageId', 'object'], ['messageCount', 'int'], ['poisonCause', 'throwable'],
    ],
  }],
  [T.MESSAGE, { name: 'ActiveMQMessage', fields: message }],
  [T.BYTES_MESSAGE, { name: 'ActiveMQBytesMessage', fields: message }],
  [T.MAP_MESSAGE, { name: 'ActiveMQMapMessage', fields: message }],
  [T.OBJECT_MESSAGE, { name: 'ActiveMQObjectMessage', fields: message }],
  [T.STREAM_MESSAGE, { name: 'ActiveMQStreamMessage', fields: message }],
  [T.TEXT_MESSAGE, { name: 'ActiveMQTextMessage', fields: message }],
  [T.BLOB_MESSAGE, { name: 'ActiveMQBlobMessage', fields: [...message, ['remoteBlobUrl', 'string'], ['mimeType', 'string'], ['deletedByBroker', 'bool']] }],
  [T.RESPONSE, { name: 'Response', fields: response }],
  [T.EXCEPTION_RESPONSE, { name: 'ExceptionResponse', fields: [...response, ['exception', 'throwable']] }],
  [T.DATA_RESPONSE, { name: 'DataResponse', fields: [...response, ['data', 'object']] }],
  [T.DATA_ARRAY_RESPONSE, { name: 'DataArrayResponse', fields: [...response, ['data', 'objects']] }],
  [T.INTEGER_RESPONSE, { name: 'IntegerResponse', fields: [...response, ['result', 'int']] }],
  [T.DISCOVERY_EVENT, { name: 'DiscoveryEvent', fields: [['serviceName', 'string'], ['brokerName', 'string']] }],
  [T.SUBSCRIPTION_INFO, {
    name: 'SubscriptionInfo',
    fields: [['clientId', 'string'], ['destination', 'object'], ['selector', 'string'], ['subscriptionName', 'string'], ['subscribedDestination', 'object'], ['noLocal', 'bool']],
  }],
  [T.MESSAGE_DISPATCH_NOTIFICATION, {
    name: 'MessageDispatchNotification',
    fields: [...command, ['consumerId', 'object'], ['destination', 'object'], ['deliverySequenceId', 'long'], ['messageId', 'object']],
  }],
  [T.NETWORK_BRIDGE_FILTER, { name: 'NetworkBridgeFilter', fields: [['networkBrokerId', 'object'], ['messageTTL', 'int'], ['consumerTTL', 'int']] }],
  [T.BROKER_SUBSCRIPTION_INFO, { name: 'BrokerSubscriptionInfo', fields: [...command, ['brokerId', 'object'], ['brokerName', 'string'], ['subscriptionInfos', 'objects']] }],
  [T.QUEUE, { name: 'ActiveMQQueue', fields: destination }],
  [T.TOPIC, { name: 'ActiveMQTopic', fields: destination }],
  [T.TEMP_QUEUE, { name: 'ActiveMQTempQueue', fields: destination }],
  [T.TEMP_TOPIC, { name: 'ActiveMQTempTopic', fields: destination }],
  [T.MESSAGE_ID, { name: 'MessageId', fields: [['textView', 'string'], ['producerId', 'object'], ['producerSequenceId', 'long'], ['brokerSequenceId', 'long']] }],
  [T.LOCAL_TRANSACTION_ID, { name: 'LocalTransactionId', fields: [['value', 'long'], ['connectionId', 'object']] }],
  [T.XA_TRANSACTION_ID, { name: 'XATransactionId', fields: [['formatId', 'int'], ['globalTransactionId', 'bytes'], ['branchQualifier', 'bytes']] }],
  [T.CONNECTION_ID, { name: 'ConnectionId', fields: [['value', 'string']] }],
  [T.SESSION_ID, { name: 'SessionId', fields: [['connectionId', 'string'], ['value', 'long']] }],
  [T.CONSUMER_ID, { name: 'ConsumerId', fields: [['connectionId', 'string'], ['sessionId', 'long'], ['value', 'long']] }],
  // Note the order: value before sessionId, unlike ConsumerId.
  [T.PRODUCER_ID, { name: 'ProducerId', fields: [['connectionId', 'string'], ['value', 'long'], ['sessionId', 'long']] }],
  [T.BROKER_ID, { name: 'BrokerId', fields: [['value', 'string']] }],
]);

export const MESSAGE_TYPES: ReadonlySet<number> = new Set([T.MESSAGE, T.BYTES_MESSAGE, T.MAP_MESSAGE, T.OBJECT_MESSAGE, T.STREAM_MESSAGE, T.TEXT_MESSAGE, T.BLOB_MESSAGE]);
