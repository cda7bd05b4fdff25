package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// User error codes of PlaceOrder (besides INVALID_INPUT, GATEWAY_NOT_CONFIGURED and OUTCOME_UNKNOWN).
const (
	ErrCodeInvalidInput           = "INVALID_INPUT"
	ErrCodeCardDataRefused        = "CARD_DATA_REFUSED"
	ErrCodeReferenceInUse         = "REFERENCE_IN_USE"
	ErrCodeUnknownCustomer        = "UNKNOWN_CUSTOMER"
	ErrCodeCustomerOnHold         = "CUSTOMER_ON_HOLD"
	ErrCodeCreditLimitExceeded    = "CREDIT_LIMIT_EXCEEDED"
	ErrCodeUnknownStockCode       = "UNKNOWN_STOCK_CODE"
	ErrCodeOutOfStock             = "OUT_OF_STOCK"
	ErrCodeErpUnavailable         = "ERP_UNAVAILABLE"
	ErrCodePaymentDeclined        = "PAYMENT_DECLINED"
	ErrCodeTokenRefused           = "TOKEN_REFUSED"
	ErrCodeAuthenticationRequired = "AUTHENTICATION_REQUIRED"
	ErrCodeErpRefused             = "ERP_REFUSED"
	ErrCodeOrderCancelled         = "ORDER_CANCELLED"
)

// Limits of a placed order.
const (
	PlaceOrderLinesMax = 200
	// PlaceOrderReferenceMax is Opayo's vendorTxCode length, the shortest of the three systems'.
	PlaceOrderReferenceMax = 40
	// PlaceOrderWaitDefault is how long PlaceOrder waits for SYSPRO's order number before it
	// answers the order as still posting.
	PlaceOrderWaitDefault = 10 * time.Second
)

// PlaceOrderRequest is an order the storefront places through the hub, paid by card with a
// token only.
type PlaceOrderRequest struct {
	// IdempotencyKey names the placement: a repeat with the same key answers the order it made
	// as it now stands and never pays again. Unique over all callers (the API prefixes its
	// caller's key id).
	IdempotencyKey string
	// Reference is the shop's order reference: the payment's merchant reference and SYSPRO's
	// customer PO number.
	Reference      string
	Customer       OrderCustomer
	Currency       string
	Lines          []PlaceOrderLine
	ShipTo         *Address
	Payment        PaymentMethod
	AllowBackorder bool
	RequestedBy    string
}

// OrderCustomer is who buys: a SYSPRO customer by code, or a shopper by e-mail.
type OrderCustomer struct {
	Code, Email, Name, Phone string
	BillTo                   Address
}

// PlaceOrderLine is one line of a placed order, in SYSPRO's terms.
type PlaceOrderLine struct {
	StockCode, Description, Warehouse string
	Quantity, UnitPrice               decimal.Decimal
}

// PaymentMethod is the card token a placed order is paid with.
type PaymentMethod struct {
	Gateway string // GatewayCybersource or GatewayOpayo
	// Capture charges now (a sale); false only authorises.
	Capture bool
	// Cybersource: one of a transient token, a TMS payment instrument, a TMS customer.
	TransientToken      string
	PaymentInstrumentID string
	TMSCustomerID       string
	// Opayo: a card identifier, with the merchant session key that made it unless reusable.
	MerchantSessionKey string
	CardIdentifier     string
	Reusable           bool
}

// PlacedOrder is the outcome of PlaceOrder: the order as it stands and its card payment.
type PlacedOrder struct {
	Order   db.SalesOrder
	Payment *db.Payment
	// Replayed says the placement was done before, under the same idempotency key.
	Replayed bool
}

var referencePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// PlaceOrder runs the storefront's order-to-cash:
//
//  1. The request is checked, and refused if any text in it holds a card number.
//  2. SYSPRO is asked about the customer (known, not on hold, within its credit limit, which the
//     order's total must fit beside the balance) and every stock code (known, stocked in the
//     warehouse, enough available unless AllowBackorder). Nothing is written before this passes.
//  3. The canonical order is recorded under its reference with the placement's key.
//  4. The card is charged (or authorised) with its token under the same reference, and the
//     gateway's answer applied like any other: a committed payment queues the SYSPRO posting, a
//     review holds the order, a decline (or a refused token) cancels it.
//  5. PlaceOrder waits up to Config.PlaceOrderWait for SYSPRO's answer. If SYSPRO refuses the
//     order (a dead posting) the payment is voided or reversed and ERP_REFUSED carries SYSPRO's
//     message; if SYSPRO is only slow, the order is answered as posting and the queue goes on.
//
// A gateway answer that was lost leaves the order on hold, with an anomaly, for the pollers to
// learn the payment's fate (OUTCOME_UNKNOWN): it is never charged twice.
func (e *Engine) PlaceOrder(ctx context.Context, req PlaceOrderRequest) (PlacedOrder, error) {
	req = normalisePlaceOrder(req)
	if err := e.checkPlaceOrder(req); err != nil {
		return PlacedOrder{}, err
	}
	if e.cfg.Syspro == nil {
		return PlacedOrder{}, userErr(ErrCodeErpUnavailable, "SYSPRO is not configured on this hub: orders cannot be placed")
	}
	if placed, ok, err := e.earlierPlacement(ctx, req); err != nil || ok {
		return placed, err
	}
	total := placeOrderTotal(req.Lines)
	customer, err := e.checkOrderCustomer(ctx, req, total)
	if err != nil {
		return PlacedOrder{}, err
	}
	// The gateway needs the payer's e-mail and name; an account customer's come from its records.
	if req.Customer.Email == "" {
		req.Customer.Email = customer.email()
	}
	if req.Customer.Name == "" {
		req.Customer.Name = customer.name()
	}
	if req.Payment.Gateway == GatewayCybersource && req.Customer.Email == "" {
		return PlacedOrder{}, invalid([]string{"customer", "email"}, "a Cybersource payment needs the payer's e-mail, and customer %s has none on file: send customer.email", customer.code)
	}
	if err := e.checkOrderStock(ctx, req); err != nil {
		return PlacedOrder{}, err
	}

	order, err := e.recordPlacedOrder(ctx, req, customer, total)
	if err != nil {
		return PlacedOrder{}, err
	}
	t, payErr := e.chargePlacedOrder(ctx, req, order)
	if payErr != nil {
		return e.placementPaymentFailed(ctx, req, order, payErr)
	}
	var pay db.Payment
	err = e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := e.applyGatewayTxn(ctx, tx, q, t); err != nil {
			return err
		}
		var err error
		pay, err = q.GetPaymentByGatewayTransaction(ctx, db.GetPaymentByGatewayTransactionParams{Gateway: t.Gateway, GatewayTransactionID: t.TransactionID})
		if err != nil {
			return err
		}
		if pay.Status == "declined" || pay.Status == "failed" {
			return e.cancelOrderTx(ctx, tx, q, order.ID, "payment "+pay.Status+": "+placementDeclineText(t))
		}
		return nil
	})
	if err != nil {
		// The money may have moved: the gateway's webhook or poll records it and the order goes on.
		return PlacedOrder{}, fmt.Errorf("sync: record the payment of order %s: %w", req.Reference, err)
	}
	if pay.Status == "declined" || pay.Status == "failed" {
		return PlacedOrder{}, &UserError{Code: ErrCodePaymentDeclined, Field: []string{"payment"},
			Message: fmt.Sprintf("the card was declined (%s); the order %s is cancelled: the shopper may try again under a new customerPoNumber", placementDeclineText(t), req.Reference)}
	}
	return e.awaitPlacedOrder(ctx, req, order.ID, pay)
}

// normalisePlaceOrder trims the request's texts and upper-cases its codes.
func normalisePlaceOrder(req PlaceOrderRequest) PlaceOrderRequest {
	trim := strings.TrimSpace
	req.Reference, req.Currency = trim(req.Reference), strings.ToUpper(trim(req.Currency))
	c := &req.Customer
	c.Code, c.Email, c.Name, c.Phone = strings.ToUpper(trim(c.Code)), trim(c.Email), trim(c.Name), trim(c.Phone)
	c.BillTo = standardAddress(c.BillTo)
	if req.ShipTo != nil {
		s := standardAddress(*req.ShipTo)
		req.ShipTo = &s
	}
	req.Lines = append([]PlaceOrderLine(nil), req.Lines...)
	for i := range req.Lines {
		l := &req.Lines[i]
		l.StockCode, l.Description, l.Warehouse = trim(l.StockCode), trim(l.Description), strings.ToUpper(trim(l.Warehouse))
	}
	p := &req.Payment
	p.Gateway = strings.ToLower(trim(p.Gateway))
	p.TransientToken, p.PaymentInstrumentID, p.TMSCustomerID = trim(p.TransientToken), trim(p.PaymentInstrumentID), trim(p.TMSCustomerID)
	p.MerchantSessionKey, p.CardIdentifier = trim(p.MerchantSessionKey), trim(p.CardIdentifier)
	return req
}

func invalid(field []string, format string, args ...any) error {
	return &UserError{Code: ErrCodeInvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// checkPlaceOrder refuses a malformed request, and any that carries a card number.
func (e *Engine) checkPlaceOrder(req PlaceOrderRequest) error {
	if field, ok := placeOrderCardNumber(req); ok {
		return &UserError{Code: ErrCodeCardDataRefused, Field: field,
			Message: "a card number was sent: the hub takes card tokens only (a Cybersource transient token or TMS id, an Opayo card identifier), never card numbers; nothing was stored"}
	}
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		return invalid([]string{"idempotencyKey"}, "an idempotency key is required")
	}
	switch r := req.Reference; {
	case r == "" || len(r) > PlaceOrderReferenceMax || !referencePattern.MatchString(r):
		return invalid([]string{"customerPoNumber"}, "customerPoNumber must be 1..%d letters, digits, '.', '_' or '-' (got %q)", PlaceOrderReferenceMax, truncate(r, 60))
	}
	if len(req.Currency) != 3 || strings.Trim(req.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return invalid([]string{"currency"}, "currency must be an ISO 4217 code such as GBP (got %q)", truncate(req.Currency, 10))
	}
	c := req.Customer
	if c.Code == "" && c.Email == "" {
		return invalid([]string{"customer"}, "customer needs a SYSPRO code (account customers) or an e-mail address (web shoppers)")
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " \t\r\n") || len(c.Email) > 254) {
		return invalid([]string{"customer", "email"}, "customer.email %q is not an e-mail address", truncate(c.Email, 60))
	}
	if n := len(req.Lines); n == 0 || n > PlaceOrderLinesMax {
		return invalid([]string{"lines"}, "an order has 1..%d lines (got %d)", PlaceOrderLinesMax, n)
	}
	for i, l := range req.Lines {
		at := func(f string) []string { return []string{"lines", strconv.Itoa(i), f} }
		switch {
		case l.StockCode == "" || len(l.StockCode) > 30:
			return invalid(at("stockCode"), "line %d: stockCode must be SYSPRO's stock code, 1..30 characters", i+1)
		case !l.Quantity.IsPositive():
			return invalid(at("quantity"), "line %d: quantity must be above zero (got %s)", i+1, l.Quantity)
		case !l.Quantity.Equal(l.Quantity.Round(6)):
			return invalid(at("quantity"), "line %d: quantity has more than six decimals (got %s)", i+1, l.Quantity)
		case l.UnitPrice.IsNegative():
			return invalid(at("unitPrice"), "line %d: unitPrice must not be negative (got %s)", i+1, l.UnitPrice)
		case !l.UnitPrice.Equal(l.UnitPrice.Round(2)):
			return invalid(at("unitPrice"), "line %d: unitPrice has more than two decimals (got %s)", i+1, l.UnitPrice)
		}
	}
	if !placeOrderTotal(req.Lines).IsPositive() {
		return invalid([]string{"lines"}, "the order's total must be above zero")
	}
	p := req.Payment
	switch p.Gateway {
	case GatewayCybersource:
		if e.cfg.Cybersource == nil {
			return &UserError{Code: ErrCodeGatewayUnavailable, Field: []string{"payment", "gateway"}, Message: "cybersource is not configured on this hub"}
		}
		if p.MerchantSessionKey != "" || p.CardIdentifier != "" {
			return invalid([]string{"payment", "opayo"}, "payment.opayo is for gateway OPAYO; a Cybersource payment takes payment.cybersource")
		}
		switch {
		case p.TransientToken != "" && (p.PaymentInstrumentID != "" || p.TMSCustomerID != ""):
			return invalid([]string{"payment", "cybersource"}, "payment.cybersource takes a transientToken or a saved card (paymentInstrumentId / customerId), not both")
		case p.TransientToken == "" && p.PaymentInstrumentID == "" && p.TMSCustomerID == "":
			return invalid([]string{"payment", "cybersource"}, "payment.cybersource needs a transientToken, a paymentInstrumentId or a customerId")
		}
		if p.TransientToken != "" {
			info, err := cybersource.ParseTransientToken(p.TransientToken)
			if err != nil {
				return &UserError{Code: ErrCodeTokenRefused, Field: []string{"payment", "cybersource", "transientToken"},
					Message: "payment.cybersource.transientToken is not a transient token (a JWT from Microform or Unified Checkout)"}
			}
			if !info.ExpiresAt.IsZero() && time.Now().After(info.ExpiresAt) {
				return &UserError{Code: ErrCodeTokenRefused, Field: []string{"payment", "cybersource", "transientToken"},
					Message: fmt.Sprintf("the transient token expired at %s: the shopper must enter the card again", info.ExpiresAt.UTC().Format(time.RFC3339))}
			}
		}
	case GatewayOpayo:
		if e.cfg.Opayo == nil {
			return &UserError{Code: ErrCodeGatewayUnavailable, Field: []string{"payment", "gateway"}, Message: "opayo is not configured on this hub"}
		}
		if p.TransientToken != "" || p.PaymentInstrumentID != "" || p.TMSCustomerID != "" {
			return invalid([]string{"payment", "cybersource"}, "payment.cybersource is for gateway CYBERSOURCE; an Opayo payment takes payment.opayo")
		}
		switch {
		case p.CardIdentifier == "":
			return invalid([]string{"payment", "opayo", "cardIdentifier"}, "payment.opayo.cardIdentifier is required")
		case p.MerchantSessionKey == "" && !p.Reusable:
			return invalid([]string{"payment", "opayo", "merchantSessionKey"}, "payment.opayo.merchantSessionKey is required for a card identifier that is not reusable")
		}
		// Opayo refuses a payment without the payer's name and billing address.
		b := c.BillTo
		if b.Line1 == "" || b.City == "" || len(b.Country) != 2 {
			return invalid([]string{"customer", "billTo"}, "an Opayo payment needs customer.billTo with line1, city and a two-letter country")
		}
		if first, last := splitName(c.Name); first == "" || last == "" {
			return invalid([]string{"customer", "name"}, "an Opayo payment needs the payer's first and last name in customer.name")
		}
	default:
		return invalid([]string{"payment", "gateway"}, "payment.gateway must be CYBERSOURCE or OPAYO")
	}
	return nil
}

// placeOrderCardNumber finds a card number in any text of the request, and names its field.
func placeOrderCardNumber(req PlaceOrderRequest) ([]string, bool) {
	type text struct {
		field []string
		v     string
	}
	address := func(prefix []string, a Address) []text {
		f := func(n string) []string { return append(append([]string(nil), prefix...), n) }
		return []text{{f("line1"), a.Line1}, {f("line2"), a.Line2}, {f("city"), a.City}, {f("region"), a.Region},
			{f("postalCode"), a.PostalCode}, {f("country"), a.Country}}
	}
	c, p := req.Customer, req.Payment
	texts := []text{{[]string{"idempotencyKey"}, req.IdempotencyKey}, {[]string{"customerPoNumber"}, req.Reference},
		{[]string{"currency"}, req.Currency}, {[]string{"customer", "code"}, c.Code}, {[]string{"customer", "email"}, c.Email},
		{[]string{"customer", "name"}, c.Name}, {[]string{"customer", "phone"}, c.Phone},
		{[]string{"payment", "cybersource", "transientToken"}, p.TransientToken},
		{[]string{"payment", "cybersource", "paymentInstrumentId"}, p.PaymentInstrumentID},
		{[]string{"payment", "cybersource", "customerId"}, p.TMSCustomerID},
		{[]string{"payment", "opayo", "merchantSessionKey"}, p.MerchantSessionKey},
		{[]string{"payment", "opayo", "cardIdentifier"}, p.CardIdentifier}}
	texts = append(texts, address([]string{"customer", "billTo"}, c.BillTo)...)
	if req.ShipTo != nil {
		texts = append(texts, address([]string{"shipTo"}, *req.ShipTo)...)
	}
	for i, l := range req.Lines {
		at := func(f string) []string { return []string{"lines", strconv.Itoa(i), f} }
		texts = append(texts, text{at("stockCode"), l.StockCode}, text{at("description"), l.Description}, text{at("warehouse"), l.Warehouse})
	}
	for _, t := range texts {
		if ContainsCardNumber(t.v) {
			return t.field, true
		}
	}
	return nil, false
}

func placeOrderTotal(lines []PlaceOrderLine) decimal.Decimal {
	total := decimal.Zero
	for _, l := range lines {
		total = total.Add(l.Quantity.Mul(l.UnitPrice).Round(2))
	}
	return total
}

// earlierPlacement answers a repeat of a placement: the order its key made, as it now stands.
func (e *Engine) earlierPlacement(ctx context.Context, req PlaceOrderRequest) (PlacedOrder, bool, error) {
	o, err := e.queries.GetSalesOrderByCustomerPoNumber(ctx, req.Reference)
	if errors.Is(err, pgx.ErrNoRows) {
		return PlacedOrder{}, false, nil
	}
	if err != nil {
		return PlacedOrder{}, false, err
	}
	if o.PlacementKey == nil || *o.PlacementKey != req.IdempotencyKey {
		return PlacedOrder{}, false, referenceInUse(req.Reference)
	}
	if o.Status == "cancelled" {
		// The placement failed (a decline, a refused token, SYSPRO's refusal): say so again.
		return PlacedOrder{}, true, &UserError{Code: ErrCodeOrderCancelled, Field: []string{"customerPoNumber"},
			Message: fmt.Sprintf("order %s was cancelled (%s): place it again under a new customerPoNumber", req.Reference, deref(o.HoldReason))}
	}
	placed, err := e.placedOrder(ctx, o.ID, req.Reference)
	placed.Replayed = true
	return placed, true, err
}

func referenceInUse(ref string) error {
	return &UserError{Code: ErrCodeReferenceInUse, Field: []string{"customerPoNumber"},
		Message: fmt.Sprintf("customerPoNumber %q is already an order's: every order (and every payment attempt) needs a reference of its own", ref)}
}

func (e *Engine) placedOrder(ctx context.Context, orderID int64, ref string) (PlacedOrder, error) {
	o, err := e.queries.GetSalesOrder(ctx, orderID)
	if err != nil {
		return PlacedOrder{}, err
	}
	out := PlacedOrder{Order: o}
	payments, err := e.queries.ListPaymentsByOrderIDs(ctx, []int64{o.ID})
	if err != nil {
		return out, err
	}
	// The card payment is the order's payment under its reference, not a refund, capture or void of it.
	for i := len(payments) - 1; i >= 0; i-- {
		if p := payments[i]; p.MerchantReference == ref && p.ParentPaymentID == nil {
			out.Payment = &p
			break
		}
	}
	return out, nil
}

// orderCustomer is the buyer as checked: the canonical customer when the hub knows it, else what
// a new one is made from.
type orderCustomer struct {
	existing *db.Customer
	code     string
	account  *syspro.CustomerAccount // nil when SYSPRO does not know the customer yet
}

func (oc orderCustomer) email() string {
	switch {
	case oc.existing != nil && oc.existing.Email != nil:
		return *oc.existing.Email
	case oc.account != nil:
		return oc.account.Email
	}
	return ""
}

func (oc orderCustomer) name() string {
	switch {
	case oc.existing != nil:
		return oc.existing.Name
	case oc.account != nil:
		return oc.account.Name
	}
	return ""
}

// checkOrderCustomer asks SYSPRO about the buyer: it must be known (or creatable), not on hold,
// and able to take the order's total within its credit limit.
func (e *Engine) checkOrderCustomer(ctx context.Context, req PlaceOrderRequest, total decimal.Decimal) (orderCustomer, error) {
	var oc orderCustomer
	c := req.Customer
	switch {
	case c.Code != "":
		existing, err := e.queries.GetCustomerByCode(ctx, c.Code)
		switch {
		case err == nil:
			oc.existing = &existing
		case !errors.Is(err, pgx.ErrNoRows):
			return oc, err
		}
		oc.code = c.Code
	default:
		existing, err := e.queries.GetCustomerByEmail(ctx, c.Email)
		switch {
		case err == nil:
			oc.existing, oc.code = &existing, existing.Code
		case !errors.Is(err, pgx.ErrNoRows):
			return oc, err
		}
	}
	if oc.code == "" {
		// A shopper the hub has never seen: a new customer, which SYSPRO gets with the order.
		if !e.cfg.CreateCustomers {
			return oc, &UserError{Code: ErrCodeUnknownCustomer, Field: []string{"customer"},
				Message: fmt.Sprintf("no customer has the e-mail %s, and this hub does not create SYSPRO customers (sync.createCustomers): order with an account customer's code", c.Email)}
		}
		return oc, nil
	}
	acc, err := e.cfg.Syspro.QueryCustomer(ctx, oc.code)
	switch {
	case err == nil:
		oc.account = acc
	case syspro.IsBusiness(err):
		if c.Code != "" || !e.cfg.CreateCustomers {
			return oc, &UserError{Code: ErrCodeUnknownCustomer, Field: []string{"customer", "code"},
				Message: fmt.Sprintf("SYSPRO does not know customer %s: %v", oc.code, err)}
		}
		return oc, nil // the hub's customer, not yet in SYSPRO: created with the order
	default:
		return oc, erpUnavailable(err)
	}
	if acc.OnHold {
		return oc, &UserError{Code: ErrCodeCustomerOnHold, Field: []string{"customer"},
			Message: fmt.Sprintf("customer %s is on hold in SYSPRO: take it up with credit control", oc.code)}
	}
	if acc.CreditLimit.IsPositive() {
		currency := strings.ToUpper(strings.TrimSpace(acc.Currency))
		if currency == "" && oc.existing != nil {
			currency = strings.TrimSpace(oc.existing.Currency)
		}
		amount := total
		if currency != "" && currency != req.Currency {
			r, err := loadRules(ctx, e.queries)
			if err != nil {
				return oc, err
			}
			if amount, err = r.convert(total, req.Currency, currency, time.Now()); err != nil {
				return oc, invalid([]string{"currency"}, "customer %s is billed in %s: %v", oc.code, currency, err)
			}
		}
		if exposure := acc.Balance.Add(amount); exposure.GreaterThan(acc.CreditLimit) {
			return oc, &UserError{Code: ErrCodeCreditLimitExceeded, Field: []string{"customer"},
				Message: fmt.Sprintf("customer %s owes %s and this order adds %s, above its credit limit of %s %s",
					oc.code, acc.Balance.StringFixed(2), amount.StringFixed(2), acc.CreditLimit.StringFixed(2), currency)}
		}
	}
	return oc, nil
}

func erpUnavailable(err error) error {
	return &UserError{Code: ErrCodeErpUnavailable,
		Message: fmt.Sprintf("SYSPRO could not be asked about the order (%v); nothing was charged: try again shortly", err)}
}

// checkOrderStock asks SYSPRO (INVQRY) about every stock code before any money moves.
func (e *Engine) checkOrderStock(ctx context.Context, req PlaceOrderRequest) error {
	lines := make([]syspro.SalesOrderLine, len(req.Lines))
	firstLine := map[string]int{}
	for i, l := range req.Lines {
		wh := l.Warehouse
		if wh == "" {
			wh = e.cfg.DefaultWarehouse
		}
		lines[i] = syspro.SalesOrderLine{StockCode: l.StockCode, Warehouse: wh, Quantity: l.Quantity}
		if _, ok := firstLine[l.StockCode]; !ok {
			firstLine[l.StockCode] = i
		}
	}
	short, err := e.checkStock(ctx, lines)
	var perm permanentError
	switch {
	case err == nil:
	case errors.As(err, &perm), syspro.IsBusiness(err):
		return &UserError{Code: ErrCodeUnknownStockCode, Field: []string{"lines"}, Message: "SYSPRO refused a line: " + err.Error()}
	default:
		return erpUnavailable(err)
	}
	if len(short) > 0 && !req.AllowBackorder {
		parts := make([]string, len(short))
		for i, s := range short {
			parts[i] = fmt.Sprintf("%s in %s: %s wanted, %s available", s.StockCode, s.Warehouse, s.Quantity, s.Available)
		}
		return &UserError{Code: ErrCodeOutOfStock, Field: []string{"lines", strconv.Itoa(firstLine[short[0].StockCode]), "quantity"},
			Message: "not enough stock (" + strings.Join(parts, "; ") + "); nothing was charged. Set allowBackorder to let SYSPRO back-order it"}
	}
	return nil
}

// recordPlacedOrder writes the canonical order, and its customer when new.
func (e *Engine) recordPlacedOrder(ctx context.Context, req PlaceOrderRequest, oc orderCustomer, total decimal.Decimal) (db.SalesOrder, error) {
	var order db.SalesOrder
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := q.LockKey(ctx, "order:"+req.Reference); err != nil {
			return err
		}
		if _, err := q.GetSalesOrderByCustomerPoNumber(ctx, req.Reference); err == nil {
			return referenceInUse(req.Reference)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		customer, err := e.placementCustomer(ctx, q, req, oc)
		if err != nil {
			return err
		}
		shipTo := customer.ShippingAddress
		switch {
		case req.ShipTo != nil && *req.ShipTo != (Address{}):
			shipTo, _ = json.Marshal(*req.ShipTo)
		case req.Customer.BillTo != (Address{}):
			shipTo, _ = json.Marshal(req.Customer.BillTo)
		}
		if len(shipTo) == 0 {
			shipTo = []byte("{}")
		}
		key := req.IdempotencyKey
		order, err = q.CreatePlacedSalesOrder(ctx, db.CreatePlacedSalesOrderParams{
			CustomerID: &customer.ID, CustomerPoNumber: req.Reference, Currency: req.Currency,
			SubtotalAmount: total, ShipTo: shipTo, OrderedAt: time.Now().UTC(), PlacementKey: &key,
		})
		if err != nil {
			return fmt.Errorf("sync: create order %s: %w", req.Reference, err)
		}
		for i, l := range req.Lines {
			var wh *string
			if l.Warehouse != "" {
				wh = &l.Warehouse
			}
			if err := q.CreateSalesOrderLine(ctx, db.CreateSalesOrderLineParams{
				SalesOrderID: order.ID, LineNumber: int32(i + 1), StockCode: l.StockCode, Description: l.Description,
				Warehouse: wh, Quantity: l.Quantity, UnitPrice: l.UnitPrice, LineTotal: l.Quantity.Mul(l.UnitPrice).Round(2),
			}); err != nil {
				return fmt.Errorf("sync: line %d of order %s: %w", i+1, req.Reference, err)
			}
		}
		return appendEvent(ctx, q, TopicOrder, "order.created", "sales_order", order.ID, map[string]any{
			"orderId": order.ID, "customerPoNumber": order.CustomerPoNumber, "source": order.Source, "customerId": customer.ID,
			"customerCode": customer.Code, "currency": order.Currency, "totalAmount": order.TotalAmount, "lines": len(req.Lines),
			"placedBy": req.RequestedBy, "gateway": req.Payment.Gateway,
		})
	})
	return order, err
}

// placementCustomer is the order's canonical customer: the known one, one made from SYSPRO's
// account, or a new web shopper.
func (e *Engine) placementCustomer(ctx context.Context, q *db.Queries, req PlaceOrderRequest, oc orderCustomer) (db.Customer, error) {
	if oc.existing != nil {
		return *oc.existing, nil
	}
	if oc.account != nil {
		// An account customer the hub meets for the first time: recorded as SYSPRO has it.
		if err := q.LockKey(ctx, "customer-code:"+oc.code); err != nil {
			return db.Customer{}, err
		}
		if c, err := q.GetCustomerByCode(ctx, oc.code); err == nil {
			return c, nil
		}
		acc := oc.account
		name := cmp.Or(acc.Name, req.Customer.Name, oc.code)
		currency := strings.ToUpper(cmp.Or(acc.Currency, req.Currency))
		bill, _ := json.Marshal(req.Customer.BillTo)
		ship := []byte("{}")
		if req.ShipTo != nil {
			ship, _ = json.Marshal(*req.ShipTo)
		}
		return createCustomer(ctx, q, db.CreateCustomerParams{Code: oc.code, Name: name,
			Email: nonEmpty(cmp.Or(acc.Email, req.Customer.Email)), Phone: nonEmpty(cmp.Or(acc.Telephone, req.Customer.Phone)),
			Currency: currency, BillingAddress: bill, ShippingAddress: ship}, "syspro", oc.code)
	}
	first, last := splitName(req.Customer.Name)
	t := GatewayTxn{Gateway: req.Payment.Gateway, Reference: req.Reference, Currency: req.Currency,
		Customer: Party{FirstName: first, LastName: last, Email: req.Customer.Email, Phone: req.Customer.Phone,
			BillTo: req.Customer.BillTo, GatewayCustomerID: req.Payment.TMSCustomerID}}
	if req.ShipTo != nil {
		t.ShipTo = *req.ShipTo
	}
	return e.resolveCustomer(ctx, q, t)
}

// chargePlacedOrder sends the payment to the gateway and describes its answer.
func (e *Engine) chargePlacedOrder(ctx context.Context, req PlaceOrderRequest, order db.SalesOrder) (GatewayTxn, error) {
	if req.Payment.Gateway == GatewayCybersource {
		return e.chargeCybersource(ctx, req, order)
	}
	return e.chargeOpayo(ctx, req, order)
}

func (e *Engine) chargeCybersource(ctx context.Context, req PlaceOrderRequest, order db.SalesOrder) (GatewayTxn, error) {
	p := req.Payment
	first, last := splitName(req.Customer.Name)
	bill := req.Customer.BillTo
	pr := cybersource.PaymentRequest{
		Reference: req.Reference, TransactionID: req.Reference, Capture: p.Capture,
		TransientTokenJWT: p.TransientToken, PaymentInstrumentID: p.PaymentInstrumentID, CustomerID: p.TMSCustomerID,
		Amount: order.TotalAmount.Round(2), Currency: req.Currency,
		BillTo: &cybersource.Address{FirstName: first, LastName: last, Address1: bill.Line1, Address2: bill.Line2,
			Locality: bill.City, AdministrativeArea: bill.Region, PostalCode: bill.PostalCode, Country: bill.Country,
			Email: req.Customer.Email, PhoneNumber: req.Customer.Phone},
	}
	if req.ShipTo != nil {
		s := *req.ShipTo
		pr.ShipTo = &cybersource.Address{FirstName: first, LastName: last, Address1: s.Line1, Address2: s.Line2,
			Locality: s.City, AdministrativeArea: s.Region, PostalCode: s.PostalCode, Country: s.Country}
	}
	for _, l := range req.Lines {
		qty := int(l.Quantity.IntPart())
		if !l.Quantity.Equal(decimal.NewFromInt(int64(qty))) || qty < 1 {
			qty = 1 // lineItems take whole quantities; the line's total stays exact
		}
		pr.LineItems = append(pr.LineItems, cybersource.LineItem{ProductSKU: l.StockCode, ProductCode: "default",
			ProductName: cmp.Or(l.Description, l.StockCode), Quantity: qty, UnitPrice: l.UnitPrice,
			TotalAmount: l.Quantity.Mul(l.UnitPrice).Round(2)})
	}
	res, err := e.cfg.Cybersource.CreatePayment(ctx, pr)
	if err != nil {
		return GatewayTxn{}, err
	}
	if res.ID == "" {
		return GatewayTxn{}, fmt.Errorf("cybersource answered status %s without a transaction id (%s)", res.Status, res.Reason())
	}
	if res.NeedsReversal() {
		// Authorised, then declined by Decision Manager: the hold on the card is released.
		pay := db.Payment{Gateway: GatewayCybersource, GatewayTransactionID: res.ID, Amount: pr.Amount, Currency: pr.Currency,
			MerchantReference: req.Reference}
		if _, rerr := e.reverseCybersource(ctx, pay); rerr != nil {
			e.log.Error("placeOrder: reversing a risk-declined authorisation failed", "reference", req.Reference, "transaction", res.ID, "err", rerr)
		}
	}
	kind := KindAuthorization
	if p.Capture {
		kind = KindSale
	}
	amount := res.OrderInformation.AmountDetails.AuthorizedAmount
	if !amount.IsPositive() {
		amount = pr.Amount
	}
	t := GatewayTxn{
		Gateway: GatewayCybersource, TransactionID: res.ID, Kind: kind, GatewayStatus: res.Status,
		GatewayStatusCode: res.Reason(), GatewayStatusDetail: redactCardNumbers(res.ErrorInformation.Message),
		Reference: req.Reference, Amount: amount, Currency: req.Currency, OccurredAt: time.Now().UTC(),
		AVSResult: strings.TrimSpace(res.ProcessorInformation.AVS.Code), CVCResult: strings.TrimSpace(res.ProcessorInformation.CardVerification.ResultCode),
		Customer: Party{GatewayCustomerID: cmp.Or(strings.TrimSpace(res.PaymentInformation.Customer.ID), p.TMSCustomerID),
			FirstName: first, LastName: last, Email: req.Customer.Email, Phone: req.Customer.Phone, BillTo: bill},
		Raw: csRedactRaw(res.Raw),
	}
	t.setCybersourceCardAndRisk(res.PaymentInformation.Card, "", "", res.RiskInformation)
	if p.TransientToken != "" && t.CardLastFour == "" {
		// A payment answer need not describe the card; the token's own claims do (masked).
		if info, err := cybersource.ParseTransientToken(p.TransientToken); err == nil {
			t.setCybersourceCardAndRisk(cybersource.CardSummary{Type: info.CardType, Suffix: info.LastFour,
				ExpirationMonth: info.ExpirationMonth, ExpirationYear: info.ExpirationYear}, "", "", res.RiskInformation)
		}
	}
	// A payment's answer states the verdict by its status, not always by a profile decision.
	switch {
	case res.PendingReview():
		t.RiskDecision = "review"
	case res.Status == cybersource.StatusAuthorizedRiskDeclined:
		t.RiskDecision = "reject"
	}
	if res.Status == cybersource.StatusPendingAuthentication {
		return t, &UserError{Code: ErrCodeAuthenticationRequired, Field: []string{"payment"},
			Message: "the card issuer asks for 3-D Secure authentication, which placeOrder does not run: nothing was charged"}
	}
	return t, nil
}

func (e *Engine) chargeOpayo(ctx context.Context, req PlaceOrderRequest, order db.SalesOrder) (GatewayTxn, error) {
	p := req.Payment
	first, last := splitName(req.Customer.Name)
	bill := req.Customer.BillTo
	typ := opayo.TransactionPayment
	if !p.Capture {
		typ = opayo.TransactionDeferred
	}
	pr := opayo.PaymentRequest{
		Type: typ, VendorTxCode: req.Reference, Amount: order.TotalAmount.Round(2), Currency: req.Currency,
		Description:       "Order " + req.Reference,
		Card:              opayo.CardMethod{MerchantSessionKey: p.MerchantSessionKey, CardIdentifier: p.CardIdentifier, Reusable: p.Reusable},
		CustomerFirstName: first, CustomerLastName: last, CustomerEmail: req.Customer.Email, CustomerPhone: req.Customer.Phone,
		BillingAddress: opayo.Address{Address1: truncate(bill.Line1, 50), Address2: truncate(bill.Line2, 50), City: truncate(bill.City, 40),
			PostalCode: bill.PostalCode, Country: bill.Country},
		EntryMethod: opayo.EntryEcommerce,
	}
	if req.ShipTo != nil && req.ShipTo.Line1 != "" && req.ShipTo.City != "" && len(req.ShipTo.Country) == 2 {
		s := *req.ShipTo
		pr.ShippingDetails = &opayo.ShippingDetails{RecipientFirstName: first, RecipientLastName: last,
			ShippingAddress1: truncate(s.Line1, 50), ShippingAddress2: truncate(s.Line2, 50), ShippingCity: truncate(s.City, 40),
			ShippingPostalCode: s.PostalCode, ShippingCountry: s.Country}
	}
	res, err := e.cfg.Opayo.CreateTransaction(ctx, pr)
	if err != nil {
		return GatewayTxn{}, err
	}
	id, ok := opayoTransactionID(res.ID)
	if !ok {
		return GatewayTxn{}, fmt.Errorf("opayo answered %s without a transaction id", res.Status)
	}
	t, err := opayoTxnFromPi(id, res)
	if err != nil {
		return t, err
	}
	t.Reference = req.Reference
	t.Customer = Party{FirstName: first, LastName: last, Email: req.Customer.Email, Phone: req.Customer.Phone, BillTo: bill}
	if res.HTTPStatus == 202 || res.ACSURL != "" {
		return t, &UserError{Code: ErrCodeAuthenticationRequired, Field: []string{"payment"},
			Message: "the card issuer asks for a 3-D Secure challenge, which placeOrder does not run: nothing was charged"}
	}
	return t, nil
}

// placementPaymentFailed decides what a failed payment call leaves of the order: a refusal
// cancels it; a lost answer holds it until the pollers learn the payment's fate.
func (e *Engine) placementPaymentFailed(ctx context.Context, req PlaceOrderRequest, order db.SalesOrder, payErr error) (PlacedOrder, error) {
	if unknownOutcome(payErr) {
		reason := "payment outcome unknown: the gateway's answer was lost"
		err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
			if _, err := q.SetSalesOrderStatus(ctx, db.SetSalesOrderStatusParams{ID: order.ID, Status: "on_hold", HoldReason: &reason}); err != nil {
				return err
			}
			return raiseAnomaly(ctx, q, anomaly{
				kind: "payment_outcome_unknown", severity: "warning", subjectType: "sales_order", subjectID: order.ID,
				dedupeKey: "payment_outcome_unknown:" + req.Reference,
				summary: fmt.Sprintf("order %s: %s lost its answer to the payment; the order is held until the gateway's poll shows whether the card was charged",
					req.Reference, req.Payment.Gateway),
				details: map[string]any{"customerPoNumber": req.Reference, "gateway": req.Payment.Gateway, "error": redactCardNumbers(payErr.Error())},
			})
		})
		if err != nil {
			return PlacedOrder{}, errors.Join(payErr, err)
		}
		return PlacedOrder{}, &UserError{Code: ErrCodeOutcomeUnknown, Field: []string{"payment"},
			Message: fmt.Sprintf("the gateway's answer was lost; order %s is on hold until the hub learns whether the card was charged. Do not pay again: query the order", req.Reference)}
	}
	var ue *UserError
	refusal := errors.As(payErr, &ue)
	code, msg := ErrCodeTokenRefused, ""
	switch {
	case refusal:
		code, msg = ue.Code, ue.Message
	case cybersource.IsBusiness(payErr) || opayo.IsBusiness(payErr) || opayo.IsInvalidRequest(payErr) ||
		errors.Is(payErr, cybersource.ErrInvalidRequest) || errors.Is(payErr, cybersource.ErrDeclined):
		msg = "the gateway refused the payment: " + redactCardNumbers(payErr.Error())
	default:
		// Neither a refusal nor a lost answer (e.g. the gateway's credentials): nothing was charged.
		msg = "the payment could not be sent: " + redactCardNumbers(payErr.Error())
		code = ErrCodeGatewayRefused
	}
	if err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		return e.cancelOrderTx(ctx, tx, q, order.ID, strings.ToLower(code)+": "+truncate(msg, 200))
	}); err != nil {
		return PlacedOrder{}, errors.Join(payErr, err)
	}
	return PlacedOrder{}, &UserError{Code: code, Field: []string{"payment"}, Message: msg + fmt.Sprintf(" (order %s is cancelled)", req.Reference)}
}

func placementDeclineText(t GatewayTxn) string {
	parts := []string{t.GatewayStatus}
	if t.GatewayStatusCode != "" {
		parts = append(parts, t.GatewayStatusCode)
	}
	if t.GatewayStatusDetail != "" {
		parts = append(parts, t.GatewayStatusDetail)
	}
	return strings.Join(parts, " ")
}

// awaitPlacedOrder waits, up to Config.PlaceOrderWait, for SYSPRO's answer to the order's posting.
func (e *Engine) awaitPlacedOrder(ctx context.Context, req PlaceOrderRequest, orderID int64, pay db.Payment) (PlacedOrder, error) {
	deadline := time.Now().Add(e.cfg.PlaceOrderWait)
	pause := 20 * time.Millisecond
	key := "sales_order:" + req.Reference
	for {
		posting, err := e.queries.GetErpPostingByIdempotencyKey(ctx, key)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// Not owed to SYSPRO (yet): under review, or only authorised pending a decision.
			return e.placedOrder(ctx, orderID, req.Reference)
		case err != nil:
			return PlacedOrder{}, err
		case posting.Status == "dead":
			return e.erpRefusedPlacement(ctx, req, orderID, pay, posting)
		case posting.Status == "succeeded" || posting.Status == "cancelled":
			return e.placedOrder(ctx, orderID, req.Reference)
		case time.Now().After(deadline):
			return e.placedOrder(ctx, orderID, req.Reference)
		}
		select {
		case <-ctx.Done():
			return e.placedOrder(context.WithoutCancel(ctx), orderID, req.Reference)
		case <-time.After(pause):
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// erpRefusedPlacement undoes the payment of an order SYSPRO refused: it is voided (or reversed)
// and the order cancelled.
func (e *Engine) erpRefusedPlacement(ctx context.Context, req PlaceOrderRequest, orderID int64, pay db.Payment, posting db.ErpPosting) (PlacedOrder, error) {
	sysproSaid := deref(posting.LastError)
	// The order is cancelled first, with SYSPRO's reason, whether or not the void then succeeds.
	if err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		return e.cancelOrderTx(ctx, tx, q, orderID, "SYSPRO refused the order: "+truncate(sysproSaid, 200))
	}); err != nil {
		return PlacedOrder{}, err
	}
	undo := "the payment was voided"
	if _, err := e.VoidPayment(ctx, pay.ID, "placeOrder"); err != nil {
		undo = "voiding the payment failed (" + err.Error() + "): finance must refund it"
		e.log.Error("placeOrder: voiding the payment of an order SYSPRO refused failed", "reference", req.Reference, "payment", pay.ID, "err", err)
		if aerr := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
			return raiseAnomaly(ctx, q, anomaly{
				kind: "placed_order_not_voided", severity: "critical", subjectType: "payment", subjectID: pay.ID,
				dedupeKey: "placed_order_not_voided:" + req.Reference,
				summary:   fmt.Sprintf("SYSPRO refused order %s and its payment could not be voided: refund it", req.Reference),
				details:   map[string]any{"customerPoNumber": req.Reference, "sysproError": sysproSaid, "voidError": err.Error()},
			})
		}); aerr != nil {
			return PlacedOrder{}, aerr
		}
	}
	return PlacedOrder{}, &UserError{Code: ErrCodeErpRefused, Field: []string{"lines"},
		Message: fmt.Sprintf("SYSPRO refused order %s: %s; the order is cancelled and %s", req.Reference, sysproSaid, undo)}
}

// CreateOpayoMerchantSessionKey starts an Opayo card entry for a shopper's browser.
func (e *Engine) CreateOpayoMerchantSessionKey(ctx context.Context) (*opayo.MerchantSessionKey, error) {
	if e.cfg.Opayo == nil {
		return nil, userErr(ErrCodeGatewayUnavailable, "opayo is not configured on this hub")
	}
	msk, err := e.cfg.Opayo.CreateMerchantSessionKey(ctx)
	if err != nil {
		return nil, gatewayErr(err)
	}
	return msk, nil
}

// splitName splits a person's name into first name and the rest.
func splitName(name string) (string, string) {
	f := strings.Fields(name)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], ""
	}
	return f[0], strings.Join(f[1:], " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
