// Package traffic plays a web shop and its customers against the gateway simulators: it places
// orders paid through Cybersource and Opayo, in a realistic mix, at a steady rate. The sandbox
// (--orders) and `hub demo` use it so that a hub has something to ingest, normalise and post to
// SYSPRO.
//
// By share of orders (when both gateways are given):
//
//	75%  clean sales: Cybersource sales (some authorised first, then captured) of seed stock
//	 8%  declines: 4000000000000002 (PROCESSOR_DECLINED) and 4000000000009995 (INSUFFICIENT_FUND)
//	 5%  fraud reviews: security code 999 (CV_FAILED) or a review@ e-mail (Decision Manager REVIEW)
//	 5%  refunded after the sale, in full or in part
//	 3%  an unknown stock code (NOSUCH1) among the lines
//	 4%  Opayo Pi payments (no line items)
//
// The shares are kept exactly in the long run (a smooth weighted round robin whose starting
// point depends on the seed), so even a short run is a fair sample. With one gateway only,
// orders that need the other are placed through the one there is. Every order has a unique
// reference (DEMO-<run>-<n>); customers are a handful of regulars (two of them SYSPRO's seed
// customers) and some one-off shoppers. Card numbers and security codes are never written to the
// log.
package traffic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
)

// Category is the kind of order the shop places.
type Category int

// The categories, in the order of Summary's fields.
const (
	CleanSale Category = iota
	Decline
	FraudReview
	Refunded
	BadStock
	OpayoPayment
	numCategories
)

// shares are the categories' weights, in percent.
var shares = [numCategories]int{CleanSale: 75, Decline: 8, FraudReview: 5, Refunded: 5, BadStock: 3, OpayoPayment: 4}

var categoryNames = [numCategories]string{"clean sale", "declined", "fraud review", "refunded", "unknown stock", "opayo payment"}

// String names the category as the log shows it.
func (c Category) String() string {
	if c < 0 || c >= numCategories {
		return "category(" + strconv.Itoa(int(c)) + ")"
	}
	return categoryNames[c]
}

// Currency is the currency of every order (the SYSPRO seed customers trade in GBP).
const Currency = "GBP"

// BadStockCode is the stock code SYSPRO does not know.
const BadStockCode = "NOSUCH1"

// Generator places orders. Set the fields, then call Run; Run may be called again (with other
// Orders or Rate) to continue the same run: numbering, customers and the category mix carry on.
// A Generator is not safe for concurrent use.
type Generator struct {
	// Cybersource and Opayo are the gateways to pay through; at least one is needed.
	Cybersource *cybersource.Client
	Opayo       *opayo.Client
	// Orders is how many orders one Run places; 0 or less places orders until ctx ends.
	Orders int
	// Rate is the number of orders per second; 0 or less places them as fast as the gateways answer.
	Rate float64
	// Seed makes the choice of customers, lines and the mix's starting point reproducible.
	Seed int64
	// Log gets one line per order (and per failure); nil logs nothing.
	Log io.Writer
	// RunID is the <run> part of references (DEMO-<run>-<n>); empty means one derived from the
	// clock, so that references are unique across runs against the same simulators.
	RunID string

	started bool
	rng     *rand.Rand
	wrr     [numCategories]int
	next    int // number of the next order
}

// Summary counts the orders one Run placed, by category. Orders whose gateway calls failed
// (transport errors, refusals) count as Failed only.
type Summary struct {
	Orders int
	Failed int
	placed [numCategories]int
}

// Count returns how many orders of category c were placed.
func (s Summary) Count(c Category) int {
	if c < 0 || c >= numCategories {
		return 0
	}
	return s.placed[c]
}

func (s *Summary) add(c Category) { s.placed[c]++ }

// String is a one-line account: "50 orders: 37 clean sales, 4 declined, ...".
func (s Summary) String() string {
	p := s.placed
	return fmt.Sprintf("%d orders: %d clean sales, %d declined, %d fraud reviews, %d refunded, %d with an unknown stock code, %d Opayo payments, %d failed",
		s.Orders, p[CleanSale], p[Decline], p[FraudReview], p[Refunded], p[BadStock], p[OpayoPayment], s.Failed)
}

// ErrNoGateway is Run's answer when neither client is set.
var ErrNoGateway = errors.New("traffic: no gateway to pay through (set Cybersource and/or Opayo)")

// Run places g.Orders orders (or orders until ctx ends, when g.Orders ≤ 0) at g.Rate per second,
// one after another, and returns what it placed. A failed order is logged and counted, and the run
// goes on. It returns ctx.Err() when ctx ended the run.
func (g *Generator) Run(ctx context.Context) (Summary, error) {
	var sum Summary
	if g.Cybersource == nil && g.Opayo == nil {
		return sum, ErrNoGateway
	}
	g.init()
	var interval time.Duration
	if g.Rate > 0 {
		interval = time.Duration(float64(time.Second) / g.Rate)
	}
	due := time.Now()
	for i := 0; g.Orders <= 0 || i < g.Orders; i++ {
		if i > 0 && interval > 0 {
			due = due.Add(interval)
			if now := time.Now(); due.Before(now) {
				due = now // behind schedule: do not burst to catch up
			}
			t := time.NewTimer(time.Until(due))
			select {
			case <-ctx.Done():
				t.Stop()
				return sum, ctx.Err()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		o := g.nextOrder()
		result, err := g.place(ctx, o)
		if ctx.Err() != nil {
			// The order may or may not have reached the gateway; it is not counted either way.
			return sum, ctx.Err()
		}
		sum.Orders++
		g.logOrder(o, result, err)
		if err != nil {
			sum.Failed++
			continue
		}
		sum.add(o.cat)
	}
	return sum, nil
}

// Place pays for one order of category c now, outside the mix (the mix carries on unchanged),
// and returns its reference. A browser test uses it to make an event at a moment of its choosing.
func (g *Generator) Place(ctx context.Context, c Category) (reference string, err error) {
	if g.Cybersource == nil && g.Opayo == nil {
		return "", ErrNoGateway
	}
	if c < 0 || c >= numCategories {
		return "", fmt.Errorf("traffic: no category %d", c)
	}
	g.init()
	o := g.newOrder(c)
	result, err := g.place(ctx, o)
	g.logOrder(o, result, err)
	return o.ref, err
}

// logOrder logs one order placed: what the gateway answered, or why it failed.
func (g *Generator) logOrder(o order, result string, err error) {
	if err != nil {
		result = fmt.Sprintf("FAILED: %v", err)
	}
	g.logf("%s  %-11s  %-13s  %s %7s  %s  %s", o.ref, o.gateway(), o.cat, Currency, o.amount.StringFixed(2), o.who(), result)
}

func (g *Generator) init() {
	if g.started {
		return
	}
	g.started = true
	g.rng = rand.New(rand.NewPCG(uint64(g.Seed), 0x9e3779b97f4a7c15))
	if g.RunID == "" {
		g.RunID = strings.ToUpper(strconv.FormatInt(time.Now().Unix()%(36*36*36*36*36*36), 36))
	}
	// The round robin starts from a seed-dependent point: the shares hold all the same.
	for c := range g.wrr {
		g.wrr[c] = g.rng.IntN(100)
	}
	g.next = 1
}

func (g *Generator) logf(format string, args ...any) {
	if g.Log != nil {
		fmt.Fprintf(g.Log, format+"\n", args...)
	}
}

// nextCategory is a smooth weighted round robin over the shares.
func (g *Generator) nextCategory() Category {
	best := Category(0)
	for c := range numCategories {
		g.wrr[c] += shares[c]
		if g.wrr[c] > g.wrr[best] {
			best = c
		}
	}
	g.wrr[best] -= 100
	return best
}

// order is one shop order before it is paid.
type order struct {
	ref      string
	cat      Category
	cust     customer
	lines    []line
	amount   decimal.Decimal
	opayo    bool // paid through Opayo
	variant  int  // picks among a category's variants (which decline card, full or partial refund...)
	authOnly bool // a clean sale authorised first and captured afterwards
}

type line struct {
	item item
	qty  int
}

func (o order) gateway() string {
	if o.opayo {
		return "opayo"
	}
	return "cybersource"
}

func (o order) who() string {
	name := strings.TrimSpace(o.cust.first + " " + o.cust.last)
	if o.cust.company != "" {
		name = o.cust.company
	}
	return name + " <" + o.email() + ">"
}

// email is the billTo e-mail: a Decision Manager review order writes review@ (the simulator's
// trigger) at the customer's domain.
func (o order) email() string {
	if o.cat == FraudReview && !o.opayo && o.variant%2 == 1 {
		_, domain, _ := strings.Cut(o.cust.email, "@")
		return cybersourcesim.EmailReviewPrefix + domain
	}
	return o.cust.email
}

func (g *Generator) nextOrder() order { return g.newOrder(g.nextCategory()) }

// newOrder makes the next order (its reference, customer and lines) of category cat.
func (g *Generator) newOrder(cat Category) order {
	o := order{ref: fmt.Sprintf("DEMO-%s-%04d", g.RunID, g.next), cat: cat, variant: g.rng.IntN(1 << 30)}
	g.next++
	// Route to the gateway there is when the preferred one is missing.
	switch {
	case cat == OpayoPayment && g.Opayo == nil:
		o.cat = CleanSale
	case cat != OpayoPayment && g.Cybersource == nil:
		o.opayo = true
		if cat == FraudReview || cat == BadStock {
			o.cat = CleanSale // no reviews on Opayo here, and no lines to carry a stock code
		}
	}
	if o.cat == OpayoPayment {
		o.opayo = true
	}
	o.cust = g.pickCustomer()
	o.lines = g.pickLines(o.cat == BadStock)
	for _, l := range o.lines {
		o.amount = o.amount.Add(l.total())
	}
	o.authOnly = o.cat == CleanSale && !o.opayo && g.rng.IntN(4) == 0
	return o
}

// place pays for one order and returns a short account of what the gateway answered.
func (g *Generator) place(ctx context.Context, o order) (string, error) {
	if o.opayo {
		return g.placeOpayo(ctx, o)
	}
	return g.placeCybersource(ctx, o)
}

// Cybersource's sandbox cards are cybersourcesim's; Opayo's test cards (opayosim/doc.go) follow.
const (
	cvvGood           = "123"
	opayoCardVisa     = "4929000000006"
	opayoCardMC       = "5404000000000001"
	opayoCardDeclined = "4929602110085639"
	opayoCVV          = "123"
)

func (g *Generator) placeCybersource(ctx context.Context, o order) (string, error) {
	card := &cybersource.Card{Number: cybersourcesim.CardVisa, SecurityCode: cvvGood, Type: "001"}
	if o.variant%3 == 0 {
		card = &cybersource.Card{Number: cybersourcesim.CardMastercard, SecurityCode: cvvGood, Type: "002"}
	}
	switch {
	case o.cat == Decline && o.variant%2 == 0:
		card = &cybersource.Card{Number: cybersourcesim.CardDeclined, SecurityCode: cvvGood, Type: "001"}
	case o.cat == Decline:
		card = &cybersource.Card{Number: cybersourcesim.CardInsufficientFunds, SecurityCode: cvvGood, Type: "001"}
	case o.cat == FraudReview && o.variant%2 == 0:
		card.SecurityCode = cybersourcesim.SecurityCodeCVFailed
	}
	expiry := time.Now().AddDate(3, 0, 0)
	card.ExpirationMonth, card.ExpirationYear = fmt.Sprintf("%02d", int(expiry.Month())), strconv.Itoa(expiry.Year())

	c := o.cust
	billTo := &cybersource.Address{FirstName: c.first, LastName: c.last, Company: c.company, Address1: c.address1,
		Locality: c.city, PostalCode: c.postcode, Country: "GB", Email: o.email(), PhoneNumber: c.phone}
	items := make([]cybersource.LineItem, len(o.lines))
	for i, l := range o.lines {
		items[i] = cybersource.LineItem{ProductCode: "default", ProductName: l.item.name, ProductSKU: l.item.code,
			Quantity: l.qty, UnitPrice: l.item.price, TotalAmount: l.total()}
	}
	res, err := g.Cybersource.CreatePayment(ctx, cybersource.PaymentRequest{
		Reference: o.ref, TransactionID: o.ref, Capture: !o.authOnly, Card: card,
		Amount: o.amount, Currency: Currency, BillTo: billTo, ShipTo: billTo, LineItems: items,
	})
	if err != nil {
		return "", err
	}
	account := res.Status
	if r := res.Reason(); r != "" {
		account += "/" + r
	}
	switch {
	case o.authOnly && res.Status == cybersource.StatusAuthorized:
		capt, err := g.Cybersource.Capture(ctx, res.ID, cybersource.CaptureRequest{Reference: o.ref, Amount: o.amount, Currency: Currency, LineItems: items})
		if err != nil {
			return account, fmt.Errorf("%s, then the capture: %w", account, err)
		}
		account = "authorised " + account + ", captured " + capt.Status
	case o.cat == Refunded && res.Status == cybersource.StatusAuthorized:
		amount, how := o.amount, "in full"
		if o.variant%2 == 1 {
			amount, how = o.partialRefund(), "in part"
		}
		ref, err := g.Cybersource.RefundPayment(ctx, res.ID, cybersource.RefundRequest{Reference: o.ref, Amount: amount, Currency: Currency})
		if err != nil {
			return account, fmt.Errorf("%s, then the refund: %w", account, err)
		}
		account += fmt.Sprintf(", refunded %s %s %s", amount.StringFixed(2), how, ref.Status)
	}
	return account, nil
}

// partialRefund is one line's worth (the first of several), or half a single-line order.
func (o order) partialRefund() decimal.Decimal {
	if len(o.lines) > 1 {
		return o.lines[0].total()
	}
	half := o.amount.Div(decimal.NewFromInt(2)).Round(2)
	if !half.IsPositive() {
		return o.amount
	}
	return half
}

func (g *Generator) placeOpayo(ctx context.Context, o order) (string, error) {
	pan := opayoCardVisa
	if o.variant%3 == 0 {
		pan = opayoCardMC
	}
	if o.cat == Decline {
		pan = opayoCardDeclined
	}
	msk, err := g.Opayo.CreateMerchantSessionKey(ctx)
	if err != nil {
		return "", err
	}
	c := o.cust
	holder := strings.ToUpper(c.first + " " + c.last)
	expiry := time.Now().AddDate(3, 0, 0)
	ci, err := g.Opayo.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{CardholderName: holder, CardNumber: opayo.Secret(pan),
		ExpiryDate: fmt.Sprintf("%02d%02d", int(expiry.Month()), expiry.Year()%100), SecurityCode: opayoCVV})
	if err != nil {
		return "", err
	}
	var desc []string
	for _, l := range o.lines {
		desc = append(desc, fmt.Sprintf("%d x %s", l.qty, l.item.name))
	}
	tx, err := g.Opayo.CreateTransaction(ctx, opayo.PaymentRequest{
		Type: opayo.TransactionPayment, VendorTxCode: o.ref, Amount: o.amount, Currency: Currency,
		Description:       truncate("Order "+o.ref+": "+strings.Join(desc, ", "), 100),
		Card:              opayo.CardMethod{MerchantSessionKey: msk.Key, CardIdentifier: ci.ID},
		CustomerFirstName: c.first, CustomerLastName: c.last, CustomerEmail: c.email, CustomerPhone: c.phone,
		BillingAddress: opayo.Address{Address1: c.address1, City: c.city, PostalCode: c.postcode, Country: "GB"},
		EntryMethod:    opayo.EntryEcommerce,
	})
	if err != nil {
		return "", err
	}
	account := string(tx.Status) + " " + tx.StatusCode
	if o.cat == Refunded && tx.Succeeded() {
		amount, how := o.amount, "in full"
		if o.variant%2 == 1 {
			amount, how = o.partialRefund(), "in part"
		}
		r, err := g.Opayo.CreateTransaction(ctx, opayo.RefundRequest{ReferenceTransactionID: tx.ID, VendorTxCode: o.ref + "-R",
			Amount: amount, Currency: Currency, Description: "Refund of " + o.ref})
		if err != nil {
			return account, fmt.Errorf("%s, then the refund: %w", account, err)
		}
		account += fmt.Sprintf(", refunded %s %s %s", amount.StringFixed(2), how, r.Status)
	}
	return account, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
