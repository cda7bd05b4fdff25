package sync

import (
	"context"
	"errors"
	"iter"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/db"
)

// Cybersource is what the engine needs of the Cybersource connector; *cybersource.Client has it.
type Cybersource interface {
	GetTransaction(ctx context.Context, id string) (*cybersource.TransactionDetail, error)
	SearchAll(ctx context.Context, r cybersource.SearchRequest) iter.Seq2[cybersource.TransactionSummary, error]
}

// registerCybersource adds the Cybersource poller when Cybersource is configured.
func (e *Engine) registerCybersource(r *registry) {}

// normaliseCybersourceMessage reads a verified webhook and returns the transactions it concerns,
// as the gateway describes them now (fetched from Transaction Details).
func (e *Engine) normaliseCybersourceMessage(ctx context.Context, msg db.InboundMessage) ([]GatewayTxn, error) {
	return nil, errors.New("sync: cybersource normalisation is not built yet")
}

// fetchCybersource reads one transaction from Transaction Details.
func (e *Engine) fetchCybersource(ctx context.Context, id string) (GatewayTxn, error) {
	return GatewayTxn{}, errors.New("sync: cybersource lookup is not built yet")
}
