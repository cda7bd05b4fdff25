package sync

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// Gateways, as payments.gateway and inbound_messages.source name them.
const (
	GatewayCybersource = "cybersource"
	GatewayOpayo       = "opayo"
)

// Payment kinds, as payments.kind names them.
const (
	KindAuthorization = "authorization"
	KindCapture       = "capture"
	KindSale          = "sale"
	KindRefund        = "refund"
	KindVoid          = "void"
)

// GatewayTxn is one gateway transaction as either gateway's webhook, poll or lookup describes it,
// before any rule has been applied: the gateway's own status text, references and amounts. The
// sources (cybersource_source.go, opayo_source.go) build it; applyGatewayTxn turns it into
// canonical rows by the rules in mapping_rules.
type GatewayTxn struct {
	Gateway       string // GatewayCybersource or GatewayOpayo
	TransactionID string // the gateway's id (Cybersource id, Opayo transactionId without braces)
	// ParentTransactionID is, for a capture, refund or void, the transaction it acts on.
	ParentTransactionID string
	Kind                string // KindAuthorization ... KindVoid
	// GatewayStatus is the gateway's status text; status_map rules key on "<kind>:<status>" and
	// "*:<status>" to find the canonical status.
	GatewayStatus       string
	GatewayStatusCode   string
	GatewayStatusDetail string
	// Reference is the merchant reference (Cybersource clientReferenceInformation.code, Opayo
	// vendorTxCode); it is the canonical order's customer PO number.
	Reference  string
	Amount     decimal.Decimal
	Currency   string
	OccurredAt time.Time

	CardBrand       string
	CardLastFour    string
	CardExpiryMonth int
	CardExpiryYear  int // four digits

	// AVSResult, CVCResult and ThreeDS are the card checks: Opayo's in Pi's words
	// ("Matched/NotMatched" for address/postcode, "NotMatched", "NotAuthenticated"), Cybersource's
	// processor codes (AVS "N", CVN "N"). FraudPolicy.Decide reads them.
	AVSResult string
	CVCResult string
	ThreeDS   string
	// RiskScore, RiskDecision and RiskReasons are the gateway's fraud screening: Decision
	// Manager's score, profile decision and fired rules (Cybersource), or ReD/T3M's t3mscore and
	// t3maction — OK accept, HOLD review, REJECT reject, reason "T3M action HOLD" — from
	// Reporting (Opayo).
	RiskScore    *int
	RiskDecision string   // "", "accept", "review" or "reject"
	RiskReasons  []string // rule names or reason codes behind a review or reject

	Customer Party
	ShipTo   Address
	Lines    []Line
	// Description is the gateway's free-text description of the payment.
	Description string

	// Raw is the gateway's answer the txn was built from, for the record.
	Raw json.RawMessage
}

// Party is the payer as the gateway knows it.
type Party struct {
	// GatewayCustomerID is the gateway's customer profile (Cybersource TMS customer id), if any.
	GatewayCustomerID string
	FirstName         string
	LastName          string
	Company           string
	Email             string
	Phone             string
	BillTo            Address
}

// Address is an address as the canonical model stores it (JSON keys line1, line2, city, region,
// postalCode, country).
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Line is one order line as the gateway carries it (Cybersource orderInformation.lineItems).
type Line struct {
	SKU         string // product SKU, else product code; stock_code rules map it to a SYSPRO stock code
	Name        string
	Quantity    decimal.Decimal
	UnitPrice   decimal.Decimal
	TaxAmount   decimal.Decimal
	TotalAmount decimal.Decimal
}
