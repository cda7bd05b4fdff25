package sync

import (
	"context"

	"github.com/payhub/payhub/connectors/cybersource"
)

// CustomerProfiles is what customer sync needs of Cybersource TMS; *cybersource.Client has it.
type CustomerProfiles interface {
	CreateCustomer(ctx context.Context, r cybersource.CustomerRequest) (*cybersource.Customer, error)
	GetCustomer(ctx context.Context, id string) (*cybersource.Customer, error)
	UpdateCustomer(ctx context.Context, id string, r cybersource.CustomerRequest) (*cybersource.Customer, error)
}

// registerCustomerSync adds the customer synchronisation jobs.
func (e *Engine) registerCustomerSync(r *registry) {}
