// Package sync holds Payhub's workers: ingestion of gateway webhooks and polls, normalisation into
// the canonical model, posting to SYSPRO through the outbox, settlement reconciliation, fraud and
// anomaly detection, and event publication. It owns the River client and the job kinds.
//
// Every consequence the hub owes SYSPRO is an erp_postings row written in the same transaction as
// the canonical change that caused it, together with the River job that will post it and the event
// that reports it. A posting is done at most once in SYSPRO because every business object it uses
// is looked up before it is added (sales orders by customer PO number, AR receipts by reference),
// and at least once because the job is retried with backoff until SYSPRO answers. Business errors
// go to the dead-letter queue (erp_postings.status = 'dead') with SYSPRO's own message, and raise
// an anomaly; Repost puts a dead posting back once its data is fixed.
package sync
