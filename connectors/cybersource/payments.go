package cybersource

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"
)

// Values for PaymentRequest.Actions (processingInformation.actionList).
const (
	// ActionDecisionSkip runs the payment without Decision Manager.
	ActionDecisionSkip = "DECISION_SKIP"
	// ActionTokenCreate stores the card in TMS; say which tokens with ActionTokenTypes.
	ActionTokenCreate = "TOKEN_CREATE"
	// ActionConsumerAuthentication runs 3-D Secure payer authentication.
	ActionConsumerAuthentication = "CONSUMER_AUTHENTICATION"
)

// Values for PaymentRequest.ActionTokenTypes (processingInformation.actionTokenTypes).
const (
	TokenTypeCustomer             = "customer"
	TokenTypePaymentInstrument    = "paymentInstrument"
	TokenTypeInstrumentIdentifier = "instrumentIdentifier"
	TokenTypeShippingAddress      = "shippingAddress"
)

// PaymentRequest is an authorization, or a sale when Capture is set (POST /pts/v2/payments, §3).
// Pay with exactly one of Card, TransientTokenJWT, CustomerID, PaymentInstrumentID or
// InstrumentIdentifierID (a payment instrument may accompany its customer). A transient token
// stands alone: combined with any other of them, the request is refused before sending. The other
// combinations are left to Cybersource to judge.
type PaymentRequest struct {
	// Reference is clientReferenceInformation.code, the merchant reference (order number). Use a
	// unique one per attempt: FindByReference looks payments up by it after a transient error.
	Reference string
	// TransactionID is clientReferenceInformation.transactionId (the merchant transaction id)
	// that TimeoutVoid and TimeoutReversal key on. Optional.
	TransactionID string
	// Capture makes the authorization a sale.
	Capture bool
	// CommerceIndicator is internet (Cybersource's default), moto, retail, recurring…
	CommerceIndicator string
	// Actions is processingInformation.actionList (ActionDecisionSkip, ActionTokenCreate…).
	Actions []string
	// ActionTokenTypes says which tokens ActionTokenCreate makes (TokenTypeCustomer…).
	ActionTokenTypes []string

	// Card is raw card data.
	Card *Card
	// TransientTokenJWT is a Flex Microform or Unified Checkout transient token, sent as
	// tokenInformation.transientTokenJwt in place of card data: the shopper's browser gave the card
	// to Cybersource and got back this JWT, valid 15 minutes and until one successful
	// authorization. It is a bearer credential while it lives: do not log it (this package never
	// puts it in an error). ParseTransientToken reads its expiry and masked card without a call.
	TransientTokenJWT string
	// CustomerID, PaymentInstrumentID, InstrumentIdentifierID and ShippingAddressID are TMS tokens.
	CustomerID             string
	PaymentInstrumentID    string
	InstrumentIdentifierID string
	ShippingAddressID      string

	// Amount and Currency are orderInformation.amountDetails. The amount may not have more
	// decimals than the currency (two for most), or the request is refused before sending.
	Amount   decimal.Decimal
	Currency string
	// BillTo and ShipTo are orderInformation.billTo and shipTo.
	BillTo *Address
	ShipTo *Address
	// LineItems are orderInformation.lineItems, priced in Currency.
	LineItems []LineItem
	// MerchantDefinedInformation is merchantDefinedInformation[] (key/value pairs).
	MerchantDefinedInformation []MerchantDefinedField
	// DecisionProfile is riskInformation.profile.name, to choose a Decision Manager profile.
	DecisionProfile string
	// CustomerIPAddress is deviceInformation.ipAddress, used by Decision Manager.
	CustomerIPAddress string
}

// LineItem is one orderInformation.lineItems entry.
type LineItem struct {
	ProductCode string
	ProductName string
	ProductSKU  string
	Quantity    int
	UnitPrice   decimal.Decimal
	// TotalAmount and TaxAmount are sent only when not zero.
	TotalAmount decimal.Decimal
	TaxAmount   decimal.Decimal
}

// PaymentResult is a 201 answer to CreatePayment: any status, including declines and reviews.
type PaymentResult struct {
	Outcome
	// OrderInformation.AmountDetails.AuthorizedAmount is what the issuer approved.
	OrderInformation OrderInformation `json:"orderInformation"`
	// PaymentInformation holds the card type and the tokens used.
	PaymentInformation PaymentInformation `json:"paymentInformation"`
	// RiskInformation is Decision Manager's profile, rules and score.
	RiskInformation RiskInformation `json:"riskInformation"`
	// TokenInformation holds the tokens TOKEN_CREATE made.
	TokenInformation TokenInformation `json:"tokenInformation"`
	// EmbeddedActions is embeddedActions by action name, kept raw (its shape varies by action).
	EmbeddedActions map[string]json.RawMessage `json:"embeddedActions,omitempty"`
}

// AmountDetails is orderInformation.amountDetails in answers.
type AmountDetails struct {
	TotalAmount      decimal.Decimal `json:"totalAmount"`
	AuthorizedAmount decimal.Decimal `json:"authorizedAmount"`
	SettlementAmount decimal.Decimal `json:"settlementAmount"`
	Currency         string          `json:"currency"`
}

// OrderInformation is orderInformation in answers.
type OrderInformation struct {
	AmountDetails AmountDetails    `json:"amountDetails"`
	BillTo        Address          `json:"billTo"`
	ShipTo        Address          `json:"shipTo"`
	LineItems     []LineItemResult `json:"lineItems,omitempty"`
}

// LineItemResult is one line item as TSS returns it.
type LineItemResult struct {
	ProductCode string          `json:"productCode"`
	ProductName string          `json:"productName"`
	ProductSKU  string          `json:"productSku"`
	Quantity    json.Number     `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	TotalAmount decimal.Decimal `json:"totalAmount"`
	TaxAmount   decimal.Decimal `json:"taxAmount"`
}

// CardSummary is the non-sensitive card data answers carry: type, BIN prefix, last digits, expiry.
type CardSummary struct {
	Type            string `json:"type,omitempty"`
	Prefix          string `json:"prefix,omitempty"`
	Suffix          string `json:"suffix,omitempty"`
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
}

// PaymentInformation is paymentInformation in answers.
type PaymentInformation struct {
	Card                 CardSummary `json:"card"`
	Customer             TokenRef    `json:"customer"`
	PaymentInstrument    TokenRef    `json:"paymentInstrument"`
	InstrumentIdentifier TokenRef    `json:"instrumentIdentifier"`
	ShippingAddress      TokenRef    `json:"shippingAddress"`
}

// CreatePayment authorizes (or, with Capture, sells) and returns the 201 answer whatever its
// status: a decline or review is a result with Status and Reason(), not an error. Errors are
// 400 (ClassInvalidRequest, e.g. MISSING_FIELD or DUPLICATE_REQUEST), 401/403, and transient
// failures after which the payment may exist: see OutcomeUnknown.
func (c *Client) CreatePayment(ctx context.Context, p PaymentRequest) (*PaymentResult, error) {
	const op = "CreatePayment"
	body, err := p.wire(op)
	if err != nil {
		return nil, err
	}
	var res PaymentResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/pts/v2/payments", body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// wire types: what goes on the wire, with amounts already formatted.
type (
	wirePayment struct {
		ClientReferenceInformation *ClientReference       `json:"clientReferenceInformation,omitempty"`
		ProcessingInformation      *wireProcessing        `json:"processingInformation,omitempty"`
		PaymentInformation         *wirePaymentInfo       `json:"paymentInformation,omitempty"`
		OrderInformation           *wireOrder             `json:"orderInformation,omitempty"`
		DeviceInformation          *wireDevice            `json:"deviceInformation,omitempty"`
		MerchantDefinedInformation []MerchantDefinedField `json:"merchantDefinedInformation,omitempty"`
		RiskInformation            *wireRisk              `json:"riskInformation,omitempty"`
		TokenInformation           *wireTokenInfo         `json:"tokenInformation,omitempty"`
	}
	wireTokenInfo struct {
		TransientTokenJWT string `json:"transientTokenJwt"`
	}
	wireProcessing struct {
		Capture           bool     `json:"capture"`
		CommerceIndicator string   `json:"commerceIndicator,omitempty"`
		ActionList        []string `json:"actionList,omitempty"`
		ActionTokenTypes  []string `json:"actionTokenTypes,omitempty"`
	}
	wireID struct {
		ID string `json:"id"`
	}
	wirePaymentInfo struct {
		Card                 *wireCard `json:"card,omitempty"`
		Customer             *wireID   `json:"customer,omitempty"`
		PaymentInstrument    *wireID   `json:"paymentInstrument,omitempty"`
		InstrumentIdentifier *wireID   `json:"instrumentIdentifier,omitempty"`
		ShippingAddress      *wireID   `json:"shippingAddress,omitempty"`
	}
	wireAmount struct {
		TotalAmount string `json:"totalAmount,omitempty"`
		Currency    string `json:"currency,omitempty"`
	}
	wireOrder struct {
		AmountDetails *wireAmount    `json:"amountDetails,omitempty"`
		BillTo        *Address       `json:"billTo,omitempty"`
		ShipTo        *Address       `json:"shipTo,omitempty"`
		LineItems     []wireLineItem `json:"lineItems,omitempty"`
	}
	wireLineItem struct {
		ProductCode string `json:"productCode,omitempty"`
		ProductName string `json:"productName,omitempty"`
		ProductSKU  string `json:"productSku,omitempty"`
		Quantity    int    `json:"quantity,omitempty"`
		UnitPrice   string `json:"unitPrice"`
		TotalAmount string `json:"totalAmount,omitempty"`
		TaxAmount   string `json:"taxAmount,omitempty"`
	}
	wireDevice struct {
		IPAddress string `json:"ipAddress,omitempty"`
	}
	wireRisk struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
)

func (p PaymentRequest) wire(op string) (*wirePayment, error) {
	token, err := p.transientToken(op)
	if err != nil {
		return nil, err
	}
	w := &wirePayment{
		ClientReferenceInformation: clientRef(p.Reference, p.TransactionID),
		ProcessingInformation: &wireProcessing{Capture: p.Capture, CommerceIndicator: p.CommerceIndicator,
			ActionList: p.Actions, ActionTokenTypes: p.ActionTokenTypes},
		MerchantDefinedInformation: p.MerchantDefinedInformation,
	}
	pi := &wirePaymentInfo{Card: toWireCard(p.Card), Customer: optID(p.CustomerID), PaymentInstrument: optID(p.PaymentInstrumentID),
		InstrumentIdentifier: optID(p.InstrumentIdentifierID), ShippingAddress: optID(p.ShippingAddressID)}
	if *pi != (wirePaymentInfo{}) {
		w.PaymentInformation = pi
	}
	if token != "" {
		w.TokenInformation = &wireTokenInfo{TransientTokenJWT: token}
	}
	order, err := orderWire(op, p.Amount, p.Currency, p.BillTo, p.ShipTo, p.LineItems)
	if err != nil {
		return nil, err
	}
	w.OrderInformation = order
	if p.CustomerIPAddress != "" {
		w.DeviceInformation = &wireDevice{IPAddress: p.CustomerIPAddress}
	}
	if p.DecisionProfile != "" {
		w.RiskInformation = &wireRisk{}
		w.RiskInformation.Profile.Name = p.DecisionProfile
	}
	return w, nil
}

// transientToken returns the transient token to send, trimmed, after checking that it is the
// request's only payment source. Its text never goes into an error.
func (p PaymentRequest) transientToken(op string) (string, error) {
	if p.TransientTokenJWT == "" {
		return "", nil
	}
	token := strings.TrimSpace(p.TransientTokenJWT)
	if token == "" {
		return "", localError(op, ClassInvalidRequest, "TransientTokenJWT is blank")
	}
	var others []string
	if p.Card != nil {
		others = append(others, "Card")
	}
	for _, f := range []struct{ name, value string }{
		{"CustomerID", p.CustomerID}, {"PaymentInstrumentID", p.PaymentInstrumentID}, {"InstrumentIdentifierID", p.InstrumentIdentifierID},
	} {
		if f.value != "" {
			others = append(others, f.name)
		}
	}
	if len(others) > 0 {
		return "", localError(op, ClassInvalidRequest,
			"TransientTokenJWT is a payment source of its own and cannot be sent with %s", strings.Join(others, ", "))
	}
	return token, nil
}

// orderWire builds orderInformation; it is omitted when nothing in it is set, so a caller can
// leave it out and see Cybersource's own MISSING_FIELD answer.
func orderWire(op string, amount decimal.Decimal, currency string, billTo, shipTo *Address, items []LineItem) (*wireOrder, error) {
	o := &wireOrder{BillTo: billTo, ShipTo: shipTo}
	if currency != "" || !amount.IsZero() {
		a, err := formatAmount(op, "totalAmount", amount, currency)
		if err != nil {
			return nil, err
		}
		o.AmountDetails = &wireAmount{TotalAmount: a, Currency: currency}
	}
	for _, li := range items {
		w := wireLineItem{ProductCode: li.ProductCode, ProductName: li.ProductName, ProductSKU: li.ProductSKU, Quantity: li.Quantity}
		var err error
		if w.UnitPrice, err = formatAmount(op, "lineItems.unitPrice", li.UnitPrice, currency); err != nil {
			return nil, err
		}
		if !li.TotalAmount.IsZero() {
			if w.TotalAmount, err = formatAmount(op, "lineItems.totalAmount", li.TotalAmount, currency); err != nil {
				return nil, err
			}
		}
		if !li.TaxAmount.IsZero() {
			if w.TaxAmount, err = formatAmount(op, "lineItems.taxAmount", li.TaxAmount, currency); err != nil {
				return nil, err
			}
		}
		o.LineItems = append(o.LineItems, w)
	}
	if o.AmountDetails == nil && o.BillTo == nil && o.ShipTo == nil && len(o.LineItems) == 0 {
		return nil, nil
	}
	return o, nil
}

func clientRef(code, transactionID string) *ClientReference {
	if code == "" && transactionID == "" {
		return nil
	}
	return &ClientReference{Code: code, TransactionID: transactionID}
}

func optID(id string) *wireID {
	if id == "" {
		return nil
	}
	return &wireID{ID: id}
}
