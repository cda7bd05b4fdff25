// The GraphQL documents the dashboard sends. Only the public API (graph/schema/*.graphqls).

export const VIEWER = `query Viewer { viewer { name role } }`;

// What a row shows of any record an event, posting or anomaly is about.
const SUBJECT = `
  __typename
  id
  ... on Payment { merchantReference gateway paymentKind: kind paymentStatus: status amount { amount currency } order { number customerPoNumber } }
  ... on Refund { refundStatus: status amount { amount currency } payment { merchantReference gateway order { number customerPoNumber } } }
  ... on FraudReview { reviewStatus: status gatewayDecision reviewScore: score payment { merchantReference amount { amount currency } order { number customerPoNumber } } }
  ... on Anomaly { anomalyKind: kind severity anomalyStatus: status summary }
  ... on Order { number customerPoNumber orderStatus: status total { amount currency } }
  ... on Customer { code name }
  ... on ErpPosting { postingKind: kind postingStatus: status businessObject sysproReference }
  ... on SettlementBatch { gateway batchId batchDate batchStatus: status }
  ... on SettlementDiscrepancy { discrepancyKind: kind gateway settlementDate discrepancyStatus: status discrepancyReference: merchantReference }
  ... on GlJournal { journalStatus: status reference sysproJournalNumber }
`;

const EVENT = `id cursor topic kind subjectType subjectId occurredAt payload subject { ${SUBJECT} }`;

export const SUBSCRIPTIONS = {
  PAYMENT: {
    field: 'paymentEvents',
    query: `subscription PaymentEvents($after: String, $filter: PaymentEventFilter) { paymentEvents(after: $after, filter: $filter) { ${EVENT} } }`,
  },
  FRAUD: {
    field: 'fraudEvents',
    query: `subscription FraudEvents($after: String, $filter: FraudEventFilter) { fraudEvents(after: $after, filter: $filter) { ${EVENT} } }`,
  },
  ANOMALY: {
    field: 'anomalyEvents',
    query: `subscription AnomalyEvents($after: String, $filter: AnomalyEventFilter) { anomalyEvents(after: $after, filter: $filter) { ${EVENT} } }`,
  },
};

// The newest events the feed's filters take, oldest first, read before it subscribes, and the cursor
// every topic's subscription goes on from (schema/eventlog.graphqls). The same selection as the
// subscriptions, so that a row looks the same whichever brought it.
export const RECENT_EVENTS = `query RecentEvents($topics: [EventTopic!]!, $last: Int, $filter: RecentEventFilter) {
  recentEvents(topics: $topics, last: $last, filter: $filter) { cursor events { ${EVENT} } }
}`;

// The kinds each topic's events come in (sync/*.go appendEvent calls).
export const EVENT_KINDS = {
  PAYMENT: [
    'payment.recorded', 'payment.status_changed', 'payment.captured', 'payment.voided', 'payment.posted_to_erp',
    'refund.submitted', 'refund.succeeded', 'refund.failed', 'refund.unknown', 'refund.credited_in_erp',
    'webhook.received',
  ],
  FRAUD: ['fraud.review_opened', 'fraud.review_closed', 'fraud.payment_rejected'],
  ANOMALY: ['anomaly.raised', 'anomaly.resolved'],
};

export const GLANCE = `
query Glance($from: DateTime!, $to: DateTime!, $bucket: Int, $dayFrom: Date!, $dayTo: Date!) {
  paymentStats(from: $from, to: $to, bucketMinutes: $bucket) {
    from to bucketMinutes
    groups { gateway kind status count amount { amount currency } }
    volume { start count amounts { amount currency } }
    reviewsPending deadLetters openAnomalies
  }
  settlementDays(filter: { dateFrom: $dayFrom, dateTo: $dayTo }) {
    gateway date batchCount lineCount batches { status count } discrepancyCount openDiscrepancyCount
  }
}`;

const POSTING = `
  id kind businessObject subjectType status attempts lastError errorClass sysproErrorNumber sysproReference
  deadAt succeededAt nextAttemptAt updatedAt
  subject { ${SUBJECT} }
`;

export const DEAD_LETTERS = `
query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {
  deadLetters(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ${POSTING} }
  }
}`;

export const DEAD_LETTER_COUNT = `
query DeadLetterCount($filter: DeadLetterFilter) { deadLetters(filter: $filter, first: 0) { totalCount } }`;

export const POSTING_STATUS = `
query PostingStatus($id: ID!) { node(id: $id) { ... on ErpPosting { ${POSTING} } } }`;

export const REPOST = `
mutation Repost($input: RepostErpPostingInput!) {
  repostErpPosting(input: $input) { erpPosting { id status attempts } userErrors { code message field } }
}`;

export const REPOST_ALL = `
mutation RepostAll($input: RepostDeadLettersInput!) {
  repostDeadLetters(input: $input) { count reposted { id status } userErrors { code message field } }
}`;

const REVIEW = `
  id gateway gatewayDecision score reasons status decidedBy decidedAt note createdAt
  payment {
    id merchantReference gateway kind status gatewayStatus amount { amount currency }
    card { brand lastFour expiryMonth expiryYear }
    avsResult cvcResult threeDSecureStatus risk { score decision }
    order { number customerPoNumber status }
    customer { code name }
  }
`;

export const FRAUD_REVIEWS = `
query FraudReviews($filter: FraudReviewFilter, $first: Int, $after: String) {
  fraudReviews(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ${REVIEW} }
  }
}`;

export const DECIDE_REVIEW = `
mutation Decide($input: DecideFraudReviewInput!) {
  decideFraudReview(input: $input) { fraudReview { ${REVIEW} } userErrors { code message field } }
}`;

export const PAYMENT_STATUS = `
query PaymentStatus($id: ID!) { payment(id: $id) { id status gatewayStatus order { number status } } }`;

export const ANOMALIES = `
query Anomalies($filter: AnomalyFilter, $first: Int, $after: String) {
  anomalies(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind severity status summary details score explanation subjectType
      subject { ${SUBJECT} }
      resolvedBy resolvedAt resolutionNote detectedAt updatedAt
    }
  }
}`;

export const RESOLVE_ANOMALY = `
mutation ResolveAnomaly($input: ResolveAnomalyInput!) {
  resolveAnomaly(input: $input) { anomaly { id status resolvedBy resolvedAt resolutionNote } userErrors { code message field } }
}`;

export const SETTLEMENT_DAYS = `
query SettlementDays($filter: SettlementDayFilter!) {
  settlementDays(filter: $filter) {
    gateway date batchCount lineCount batches { status count } net { amount currency } discrepancyCount openDiscrepancyCount
  }
}`;

export const SETTLEMENT_BATCHES = `
query SettlementBatches($filter: SettlementBatchFilter, $first: Int, $after: String) {
  settlementBatches(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id gateway batchId batchDate currency status lineCount reconciledAt acceptedBy acceptedAt acceptanceNote
      gross { amount currency } refunds { amount currency } fees { amount currency } chargebacks { amount currency } net { amount currency }
      journal { id status reference sysproJournalNumber sysproYear sysproPeriod postedAt lastError }
    }
  }
}`;

export const SETTLEMENT_DISCREPANCIES = `
query SettlementDiscrepancies($filter: SettlementDiscrepancyFilter, $first: Int, $after: String) {
  settlementDiscrepancies(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind gateway settlementDate status lineNumbers currency expected actual difference
      merchantReference gatewayTransactionId explanation resolvedBy resolvedAt resolutionNote createdAt
      batch { id batchId }
      payments { id merchantReference }
    }
  }
}`;

export const ACCEPT_BATCH = `
mutation AcceptBatch($input: AcceptSettlementBatchInput!) {
  acceptSettlementBatch(input: $input) { settlementBatch { id status } userErrors { code message field } }
}`;

export const RESOLVE_DISCREPANCY = `
mutation ResolveDiscrepancy($input: ResolveSettlementDiscrepancyInput!) {
  resolveSettlementDiscrepancy(input: $input) { settlementDiscrepancy { id status } userErrors { code message field } }
}`;

export const RECONCILE = `
mutation Reconcile($input: ReconcileSettlementInput!) {
  reconcileSettlement(input: $input) { queued userErrors { code message field } }
}`;

const ORDER_CHAIN = `
  id number customerPoNumber status sysproStatus source holdReason orderedAt updatedAt
  total { amount currency }
  customer { code name }
  erpPostings { id kind status sysproReference lastError errorClass sysproErrorNumber attempts deadAt succeededAt }
  payments {
    id gateway kind status gatewayStatus merchantReference gatewayTransactionId occurredAt
    amount { amount currency }
    card { brand lastFour }
    parent { id kind }
    fraudReview { id status gatewayDecision score }
    refunds { id status amount { amount currency } sysproCreditNote }
    erpPostings { id kind status sysproReference lastError errorClass sysproErrorNumber attempts deadAt succeededAt }
    settlementLines {
      lineNumber kind matchStatus amount { amount currency }
      batch {
        id gateway batchId batchDate status reconciledAt
        journal { id status reference sysproJournalNumber sysproYear sysproPeriod postedAt lastError }
      }
    }
  }
`;

export const ORDER_BY_NUMBER = `query OrderByNumber($number: String!) { order(number: $number) { ${ORDER_CHAIN} } }`;
export const ORDER_BY_REFERENCE = `query OrderByReference($po: String!) { orderByReference(customerPoNumber: $po) { ${ORDER_CHAIN} } }`;
