// Package sync holds Payhub's workers: ingestion of gateway webhooks and polls, normalisation into
// the canonical model, posting to SYSPRO through the outbox, settlement reconciliation, fraud and
// anomaly detection, and event publication. It owns the River client and the job kinds.
//
// The workers arrive with the sync-engine issue; until then the package only reserves its place in
// the layout (graph → sync → connectors, everything that stores → db).
package sync
