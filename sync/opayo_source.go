package sync

import (
	"context"
	"errors"
	"iter"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/db"
)

// Opayo is what the engine needs of the Opayo connector; *opayo.Client has it.
type Opayo interface {
	GetTransaction(ctx context.Context, transactionID string) (*opayo.Transaction, error)
	GetTransactionDetail(ctx context.Context, ref opayo.TransactionRef) (*opayo.TransactionDetail, error)
	TransactionList(ctx context.Context, q opayo.TransactionListQuery) iter.Seq2[opayo.TransactionSummary, error]
}

// registerOpayo adds the Opayo Reporting poller when Opayo is configured.
func (e *Engine) registerOpayo(r *registry) {}

// normaliseOpayoMessage reads a verified Server notification and returns the transaction it
// concerns.
func (e *Engine) normaliseOpayoMessage(ctx context.Context, msg db.InboundMessage) ([]GatewayTxn, error) {
	return nil, errors.New("sync: opayo normalisation is not built yet")
}

// fetchOpayo reads one transaction from Opayo.
func (e *Engine) fetchOpayo(ctx context.Context, id string) (GatewayTxn, error) {
	return GatewayTxn{}, errors.New("sync: opayo lookup is not built yet")
}
