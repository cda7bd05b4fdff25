package model

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
)

// Payment is one gateway transaction as the API shows it.
type Payment struct {
	ID                   string
	RowID                int64
	Gateway              Gateway
	GatewayTransactionID string
	MerchantReference    string
	Kind                 PaymentKind
	Status               PaymentStatus
	GatewayStatus        string
	GatewayStatusCode    string
	GatewayStatusDetail  string
	Amount               *Money
	Card                 *Card
	AvsResult            *string
	CvcResult            *string
	ThreeDSecureStatus   *string
	Risk                 *Risk
	OccurredAt           time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time

	SalesOrderID    *int64
	CustomerID      *int64
	ParentPaymentID *int64
}

func (Payment) IsNode()          {}
func (p Payment) GetID() string  { return p.ID }
func (Order) IsNode()            {}
func (o Order) GetID() string    { return o.ID }
func (Customer) IsNode()         {}
func (c Customer) GetID() string { return c.ID }

// Order is a sales order as the API shows it.
type Order struct {
	ID               string
	RowID            int64
	Number           *string
	CustomerPoNumber string
	Status           OrderStatus
	SysproStatus     *string
	Source           OrderSource
	Subtotal         *Money
	Tax              *Money
	Shipping         *Money
	Total            *Money
	ShipTo           *Address
	HoldReason       *string
	OrderedAt        time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time

	CustomerID *int64
}

// Customer is a customer as the API shows it.
type Customer struct {
	ID              string
	RowID           int64
	Code            string
	Name            string
	Email           *string
	Phone           *string
	Currency        string
	Status          CustomerStatus
	BillingAddress  *Address
	ShippingAddress *Address
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// NewMoney returns amount in currency, shown with the currency's minor units ("10.50 GBP") unless
// the stored value is finer than that, in which case nothing is rounded away.
func NewMoney(amount decimal.Decimal, currency string) *Money {
	currency = strings.TrimSpace(currency)
	places := minorUnits(currency)
	if r := amount.Round(places); r.Equal(amount) {
		amount = r
	}
	return &Money{Amount: amount, Currency: currency}
}

// minorUnits is ISO 4217's number of decimal places for the currencies that differ from 2.
func minorUnits(currency string) int32 {
	switch currency {
	case "JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX", "PYG":
		return 0
	case "BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD":
		return 3
	}
	return 2
}

// PaymentFromRow converts a stored payment.
func PaymentFromRow(r db.Payment) *Payment {
	p := &Payment{
		ID:                   EncodeGlobalID(TypePayment, r.ID),
		RowID:                r.ID,
		Gateway:              Gateway(strings.ToUpper(r.Gateway)),
		GatewayTransactionID: r.GatewayTransactionID,
		MerchantReference:    r.MerchantReference,
		Kind:                 PaymentKind(strings.ToUpper(r.Kind)),
		Status:               PaymentStatus(strings.ToUpper(r.Status)),
		GatewayStatus:        r.GatewayStatus,
		GatewayStatusCode:    r.GatewayStatusCode,
		GatewayStatusDetail:  r.GatewayStatusDetail,
		Amount:               NewMoney(r.Amount, r.Currency),
		AvsResult:            r.AvsResult,
		CvcResult:            r.CvcResult,
		ThreeDSecureStatus:   r.ThreeDsStatus,
		OccurredAt:           r.OccurredAt,
		CreatedAt:            r.CreatedAt,
		UpdatedAt:            r.UpdatedAt,
		SalesOrderID:         r.SalesOrderID,
		CustomerID:           r.CustomerID,
		ParentPaymentID:      r.ParentPaymentID,
	}
	if r.CardBrand != nil || r.CardLastFour != nil || r.CardExpiryMonth != nil || r.CardExpiryYear != nil {
		p.Card = &Card{
			Brand:       r.CardBrand,
			LastFour:    r.CardLastFour,
			ExpiryMonth: intPtr(r.CardExpiryMonth),
			ExpiryYear:  intPtr(r.CardExpiryYear),
		}
	}
	if r.RiskScore != nil || r.RiskDecision != nil {
		p.Risk = &Risk{}
		if r.RiskScore != nil {
			s := int(*r.RiskScore)
			p.Risk.Score = &s
		}
		if r.RiskDecision != nil {
			d := RiskDecision(strings.ToUpper(*r.RiskDecision))
			p.Risk.Decision = &d
		}
	}
	return p
}

// OrderFromRow converts a stored sales order.
func OrderFromRow(r db.SalesOrder) *Order {
	return &Order{
		ID:               EncodeGlobalID(TypeOrder, r.ID),
		RowID:            r.ID,
		Number:           r.SysproOrderNumber,
		CustomerPoNumber: r.CustomerPoNumber,
		Status:           OrderStatus(strings.ToUpper(r.Status)),
		SysproStatus:     r.SysproStatus,
		Source:           OrderSource(strings.ToUpper(r.Source)),
		Subtotal:         NewMoney(r.SubtotalAmount, r.Currency),
		Tax:              NewMoney(r.TaxAmount, r.Currency),
		Shipping:         NewMoney(r.ShippingAmount, r.Currency),
		Total:            NewMoney(r.TotalAmount, r.Currency),
		ShipTo:           addressFromJSON(r.ShipTo),
		HoldReason:       r.HoldReason,
		OrderedAt:        r.OrderedAt,
		CreatedAt:        r.CreatedAt,
		UpdatedAt:        r.UpdatedAt,
		CustomerID:       r.CustomerID,
	}
}

// OrderLineFromRow converts a stored order line; currency is the order's.
func OrderLineFromRow(r db.SalesOrderLine, currency string) *OrderLine {
	return &OrderLine{
		LineNumber:      int(r.LineNumber),
		StockCode:       r.StockCode,
		Description:     r.Description,
		Warehouse:       r.Warehouse,
		Quantity:        r.Quantity,
		UnitPrice:       NewMoney(r.UnitPrice, currency),
		DiscountPercent: r.DiscountPercent,
		TaxCode:         r.TaxCode,
		LineTotal:       NewMoney(r.LineTotal, currency),
	}
}

// CustomerFromRow converts a stored customer.
func CustomerFromRow(r db.Customer) *Customer {
	return &Customer{
		ID:              EncodeGlobalID(TypeCustomer, r.ID),
		RowID:           r.ID,
		Code:            r.Code,
		Name:            r.Name,
		Email:           r.Email,
		Phone:           r.Phone,
		Currency:        strings.TrimSpace(r.Currency),
		Status:          CustomerStatus(strings.ToUpper(r.Status)),
		BillingAddress:  addressFromJSON(r.BillingAddress),
		ShippingAddress: addressFromJSON(r.ShippingAddress),
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
	}
}

// CustomerLinkFromRow converts a stored customer link.
func CustomerLinkFromRow(r db.CustomerLink) *CustomerLink {
	return &CustomerLink{
		System:     ExternalSystem(strings.ToUpper(r.System)),
		ExternalID: r.ExternalID,
		SyncedAt:   r.SyncedAt,
	}
}

// addressFromJSON reads the stored address document; an empty one is no address.
func addressFromJSON(raw []byte) *Address {
	var a Address
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil || a == (Address{}) {
		return nil
	}
	return &a
}

func intPtr(v *int16) *int {
	if v == nil {
		return nil
	}
	i := int(*v)
	return &i
}
