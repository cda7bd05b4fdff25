package cybersource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// CustomerRequest creates or updates a TMS customer (§9).
type CustomerRequest struct {
	// MerchantCustomerID is buyerInformation.merchantCustomerID: our customer number.
	MerchantCustomerID string
	// Email is buyerInformation.email.
	Email string
	// Reference is clientReferenceInformation.code.
	Reference string
	// DefaultPaymentInstrumentID sets defaultPaymentInstrument.id (updates only).
	DefaultPaymentInstrumentID string
}

// Customer is a TMS customer token (32 upper-case hex digits).
type Customer struct {
	ID               string `json:"id"`
	BuyerInformation struct {
		MerchantCustomerID string `json:"merchantCustomerID"`
		Email              string `json:"email"`
	} `json:"buyerInformation"`
	ClientReferenceInformation ClientReference `json:"clientReferenceInformation"`
	DefaultPaymentInstrument   TokenRef        `json:"defaultPaymentInstrument"`
	DefaultShippingAddress     TokenRef        `json:"defaultShippingAddress"`
	Metadata                   TokenMetadata   `json:"metadata"`
	Links                      Links           `json:"_links"`
	Raw                        json.RawMessage `json:"-"`
}

func (c *Customer) setRaw(b []byte) { c.Raw = append(json.RawMessage(nil), b...) }

// TokenMetadata is a token's metadata.
type TokenMetadata struct {
	Creator string `json:"creator"`
}

type customerBody struct {
	BuyerInformation *struct {
		MerchantCustomerID string `json:"merchantCustomerID,omitempty"`
		Email              string `json:"email,omitempty"`
	} `json:"buyerInformation,omitempty"`
	ClientReferenceInformation *ClientReference `json:"clientReferenceInformation,omitempty"`
	DefaultPaymentInstrument   *wireID          `json:"defaultPaymentInstrument,omitempty"`
}

func (r CustomerRequest) wire() customerBody {
	var b customerBody
	if r.MerchantCustomerID != "" || r.Email != "" {
		b.BuyerInformation = &struct {
			MerchantCustomerID string `json:"merchantCustomerID,omitempty"`
			Email              string `json:"email,omitempty"`
		}{r.MerchantCustomerID, r.Email}
	}
	b.ClientReferenceInformation = clientRef(r.Reference, "")
	b.DefaultPaymentInstrument = optID(r.DefaultPaymentInstrumentID)
	return b
}

// CreateCustomer creates a customer token (POST /tms/v2/customers).
func (c *Client) CreateCustomer(ctx context.Context, r CustomerRequest) (*Customer, error) {
	var res Customer
	if _, err := c.do(ctx, request{op: "CreateCustomer", method: http.MethodPost, path: "/tms/v2/customers", body: r.wire()}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetCustomer returns a customer token; a deleted one is ClassNotFound (404 or 410).
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	const op = "GetCustomer"
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	var res Customer
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: pathf("/tms/v2/customers/%s", id)}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateCustomer changes the fields r sets (PATCH /tms/v2/customers/{id}).
func (c *Client) UpdateCustomer(ctx context.Context, id string, r CustomerRequest) (*Customer, error) {
	const op = "UpdateCustomer"
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	var res Customer
	if _, err := c.do(ctx, request{op: op, method: http.MethodPatch, path: pathf("/tms/v2/customers/%s", id), body: r.wire()}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DeleteCustomer deletes a customer token and its instruments (204).
func (c *Client) DeleteCustomer(ctx context.Context, id string) error {
	const op = "DeleteCustomer"
	if err := requireID(op, "id", id); err != nil {
		return err
	}
	_, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: pathf("/tms/v2/customers/%s", id)}, nil)
	return err
}

// CardExpiry is the card data a payment instrument stores besides its instrument identifier.
type CardExpiry struct {
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
	Type            string `json:"type,omitempty"`
}

// PaymentInstrumentRequest creates a customer's payment instrument around an instrument
// identifier (make one with CreateInstrumentIdentifier).
type PaymentInstrumentRequest struct {
	InstrumentIdentifierID string
	Card                   CardExpiry
	BillTo                 *Address
	// Default makes it the customer's default instrument.
	Default bool
}

// PaymentInstrument is a TMS payment instrument token.
type PaymentInstrument struct {
	ID                   string        `json:"id"`
	Object               string        `json:"object"`
	State                string        `json:"state"`
	Default              bool          `json:"default"`
	Card                 CardSummary   `json:"card"`
	BillTo               Address       `json:"billTo"`
	InstrumentIdentifier TokenRef      `json:"instrumentIdentifier"`
	Metadata             TokenMetadata `json:"metadata"`
	Embedded             struct {
		InstrumentIdentifier *InstrumentIdentifier `json:"instrumentIdentifier,omitempty"`
	} `json:"_embedded"`
	Links Links `json:"_links"`
}

// PaymentInstrumentList is one page of a customer's payment instruments.
type PaymentInstrumentList struct {
	Offset   int `json:"offset"`
	Limit    int `json:"limit"`
	Count    int `json:"count"`
	Total    int `json:"total"`
	Embedded struct {
		PaymentInstruments []PaymentInstrument `json:"paymentInstruments"`
	} `json:"_embedded"`
	Links Links `json:"_links"`
}

// Instruments returns the page's payment instruments.
func (l *PaymentInstrumentList) Instruments() []PaymentInstrument {
	return l.Embedded.PaymentInstruments
}

type paymentInstrumentBody struct {
	Default              bool        `json:"default,omitempty"`
	Card                 *CardExpiry `json:"card,omitempty"`
	BillTo               *Address    `json:"billTo,omitempty"`
	InstrumentIdentifier *wireID     `json:"instrumentIdentifier,omitempty"`
}

// CreatePaymentInstrument adds a payment instrument to a customer
// (POST /tms/v2/customers/{id}/payment-instruments).
func (c *Client) CreatePaymentInstrument(ctx context.Context, customerID string, r PaymentInstrumentRequest) (*PaymentInstrument, error) {
	const op = "CreatePaymentInstrument"
	if err := requireID(op, "customerID", customerID); err != nil {
		return nil, err
	}
	body := paymentInstrumentBody{Default: r.Default, BillTo: r.BillTo, InstrumentIdentifier: optID(r.InstrumentIdentifierID)}
	if r.Card != (CardExpiry{}) {
		body.Card = &r.Card
	}
	var res PaymentInstrument
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: pathf("/tms/v2/customers/%s/payment-instruments", customerID), body: body}, &res); err != nil {
		return nil, err
	}
	res.sanitize()
	return &res, nil
}

// ListPaymentInstruments returns one page of a customer's payment instruments; limit 0 leaves
// the page size to Cybersource.
func (c *Client) ListPaymentInstruments(ctx context.Context, customerID string, offset, limit int) (*PaymentInstrumentList, error) {
	const op = "ListPaymentInstruments"
	if err := requireID(op, "customerID", customerID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var res PaymentInstrumentList
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: pathf("/tms/v2/customers/%s/payment-instruments", customerID), query: q}, &res); err != nil {
		return nil, err
	}
	for i := range res.Embedded.PaymentInstruments {
		res.Embedded.PaymentInstruments[i].sanitize()
	}
	return &res, nil
}

// GetPaymentInstrument returns one of a customer's payment instruments.
func (c *Client) GetPaymentInstrument(ctx context.Context, customerID, instrumentID string) (*PaymentInstrument, error) {
	const op = "GetPaymentInstrument"
	if err := requireID(op, "customerID", customerID); err != nil {
		return nil, err
	}
	if err := requireID(op, "instrumentID", instrumentID); err != nil {
		return nil, err
	}
	var res PaymentInstrument
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: pathf("/tms/v2/customers/%s/payment-instruments/%s", customerID, instrumentID)}, &res); err != nil {
		return nil, err
	}
	res.sanitize()
	return &res, nil
}

// DeletePaymentInstrument deletes one of a customer's payment instruments (204).
func (c *Client) DeletePaymentInstrument(ctx context.Context, customerID, instrumentID string) error {
	const op = "DeletePaymentInstrument"
	if err := requireID(op, "customerID", customerID); err != nil {
		return err
	}
	if err := requireID(op, "instrumentID", instrumentID); err != nil {
		return err
	}
	_, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: pathf("/tms/v2/customers/%s/payment-instruments/%s", customerID, instrumentID)}, nil)
	return err
}

// InstrumentIdentifier is a TMS instrument identifier: the token of one card number (16–19 digits).
type InstrumentIdentifier struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	State  string `json:"state"`
	Card   struct {
		// MaskedNumber is the number as TMS shows it ("411111XXXXXX1111"); an unmasked number in
		// an answer is masked on arrival so it is never stored.
		MaskedNumber string `json:"number"`
	} `json:"card"`
	Metadata TokenMetadata `json:"metadata"`
	Links    Links         `json:"_links"`
	// Existing is true when TMS already held this card (200 rather than 201).
	Existing bool `json:"-"`
}

// CreateInstrumentIdentifier tokenizes a card number (POST /tms/v1/instrumentidentifiers). Only
// the number is sent.
func (c *Client) CreateInstrumentIdentifier(ctx context.Context, card Card) (*InstrumentIdentifier, error) {
	const op = "CreateInstrumentIdentifier"
	if card.Number == "" {
		return nil, localError(op, ClassInvalidRequest, "card number is required")
	}
	body := struct {
		Card wireCard `json:"card"`
	}{wireCard{Number: card.Number}}
	var res InstrumentIdentifier
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/tms/v1/instrumentidentifiers", body: body}, &res)
	if err != nil {
		return nil, err
	}
	res.Existing = status == http.StatusOK
	res.sanitize()
	return &res, nil
}

func (ii *InstrumentIdentifier) sanitize() {
	if ii != nil && allDigits(ii.Card.MaskedNumber) {
		ii.Card.MaskedNumber = MaskPAN(ii.Card.MaskedNumber)
	}
}

func (pi *PaymentInstrument) sanitize() { pi.Embedded.InstrumentIdentifier.sanitize() }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
