package cybersourcesim

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Kind is what a transaction is.
type Kind string

// Transaction kinds. A payment is an authorization, or a sale when it was sent with
// processingInformation.capture=true and captured at once.
const (
	KindAuthorization Kind = "authorization"
	KindSale          Kind = "sale"
	KindCapture       Kind = "capture"
	KindRefund        Kind = "refund"
	KindCredit        Kind = "credit"
	KindVoid          Kind = "void"
	KindReversal      Kind = "reversal"
)

// Settlement statuses of captures, sales, refunds and credits.
const (
	SettlementPending = "PENDING"
	SettlementBatched = "BATCHED"
	SettlementVoided  = "VOIDED"
)

// Application is one SCMP service a transaction ran (ics_auth, ics_bill, ics_credit,
// ics_auth_reversal, ics_void, ics_decision), as Transaction Details lists it.
type Application struct {
	Name             string `json:"name"`
	Status           string `json:"status,omitempty"`
	ReasonCode       string `json:"reasonCode"`
	RCode            string `json:"rCode"`
	RFlag            string `json:"rFlag"`
	RMessage         string `json:"rMessage"`
	ReconciliationID string `json:"reconciliationId,omitempty"`
	ReturnCode       int    `json:"returnCode"`
}

// RiskResult is what Decision Manager decided about a payment.
type RiskResult struct {
	Profile string `json:"profile"`
	// Decision is the current decision: ACCEPT, REVIEW or REJECT (a resolved review changes it).
	Decision string `json:"decision"`
	// OriginalDecision is the profile's decision at payment time.
	OriginalDecision string `json:"originalDecision"`
	Score            int    `json:"score"`
}

// Transaction is one request id: a payment or a follow-on. Amounts are decimals; the card is
// summarized (masked), never kept whole.
type Transaction struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Status is the status answered for this transaction (AUTHORIZED, DECLINED, PENDING, VOIDED,
	// REVERSED, ...), updated as follow-ons change it.
	Status string `json:"status"`
	// Reason is errorInformation.reason when the answer had one (PROCESSOR_DECLINED, AVS_FAILED, ...).
	Reason string `json:"reason,omitempty"`
	// ReasonCode is the legacy SCMP reason code (100 success, 203 decline, 480 review, ...).
	ReasonCode string `json:"reasonCode"`
	// SettlementStatus is PENDING, BATCHED or VOIDED for what settles: captures, sales, refunds, credits.
	SettlementStatus    string    `json:"settlementStatus,omitempty"`
	MerchantID          string    `json:"merchantId"`
	ClientReferenceCode string    `json:"clientReferenceCode,omitempty"`
	ClientTransactionID string    `json:"clientTransactionId,omitempty"`
	SubmitTime          time.Time `json:"submitTime"`
	Currency            string    `json:"currency"`
	// Amount is this transaction's own amount: requested for a payment, captured for a capture,
	// refunded for a refund, and so on.
	Amount decimal.Decimal `json:"amount"`
	// AuthorizedAmount, CapturedAmount, RefundedAmount and ReversedAmount are running totals:
	// on a payment over all its follow-ons, on a capture over the refunds against it.
	AuthorizedAmount decimal.Decimal `json:"authorizedAmount"`
	CapturedAmount   decimal.Decimal `json:"capturedAmount"`
	RefundedAmount   decimal.Decimal `json:"refundedAmount"`
	ReversedAmount   decimal.Decimal `json:"reversedAmount"`
	// ParentID is the transaction this one acts on; RootID the payment the chain started with.
	ParentID string `json:"parentId,omitempty"`
	RootID   string `json:"rootId"`
	// FollowOns are the ids of the transactions that act on this one, oldest first.
	FollowOns        []string     `json:"followOns,omitempty"`
	ReconciliationID string       `json:"reconciliationId"`
	Card             *CardSummary `json:"card,omitempty"`
	BillTo           *Address     `json:"billTo,omitempty"`
	// ShipTo and LineItems are the payment's orderInformation.shipTo and lineItems, as sent.
	ShipTo               *Address    `json:"shipTo,omitempty"`
	LineItems            []LineItem  `json:"lineItems,omitempty"`
	ApprovalCode         string      `json:"approvalCode,omitempty"`
	ResponseCode         string      `json:"responseCode,omitempty"`
	NetworkTransactionID string      `json:"networkTransactionId,omitempty"`
	AVSCode              string      `json:"avsCode,omitempty"`
	CVNCode              string      `json:"cvnCode,omitempty"`
	Risk                 *RiskResult `json:"risk,omitempty"`
	// CustomerID, PaymentInstrumentID and InstrumentIdentifierID are the TMS tokens the payment
	// used or created.
	CustomerID              string `json:"customerId,omitempty"`
	PaymentInstrumentID     string `json:"paymentInstrumentId,omitempty"`
	InstrumentIdentifierID  string `json:"instrumentIdentifierId,omitempty"`
	InstrumentIdentifierNew bool   `json:"instrumentIdentifierNew,omitempty"`
	TokensCreated           bool   `json:"tokensCreated,omitempty"`
	// TransientTokenJTI is the jti of the transient token the payment was made with.
	TransientTokenJTI string `json:"transientTokenJti,omitempty"`
	// CaptureRequested is processingInformation.capture of a payment.
	CaptureRequested bool `json:"captureRequested,omitempty"`
	Voided           bool `json:"voided,omitempty"`
	Reversed         bool `json:"reversed,omitempty"`
	// BatchID and BatchDate are set when the transaction was settled in a batch.
	BatchID      string        `json:"batchId,omitempty"`
	BatchDate    string        `json:"batchDate,omitempty"`
	Applications []Application `json:"applications"`
}

// Batch is one settlement batch: the captures, sales, refunds and credits of one day, closed at
// the next 00:00 UTC of the simulator clock.
type Batch struct {
	ID string `json:"id"`
	// Date is the batch date (YYYY-MM-DD), the day whose transactions it holds.
	Date     string       `json:"date"`
	ClosedAt time.Time    `json:"closedAt"`
	Entries  []BatchEntry `json:"entries"`
}

// BatchEntry is one row of the Payment Batch Detail Report.
type BatchEntry struct {
	TransactionID     string `json:"transactionId"`
	RootID            string `json:"rootId"`
	Kind              Kind   `json:"kind"`
	Application       string `json:"application"` // ics_bill or ics_credit
	MerchantReference string `json:"merchantReference"`
	ReconciliationID  string `json:"reconciliationId"`
	PaymentMethod     string `json:"paymentMethod"` // Visa, MasterCard, American Express, Discover
	CardType          string `json:"cardType"`
	Currency          string `json:"currency"`
	// Amount is positive for ics_bill, negative for ics_credit.
	Amount decimal.Decimal `json:"amount"`
	// Fee is the processing fee (Options.Fee) charged on a purchase; zero for credits.
	Fee decimal.Decimal `json:"fee"`
	// OmittedFromReport and ReportedAmount are settlement quirks (POST /_sim/settlement-quirks):
	// the Payment Batch Detail Report leaves the entry out, or shows ReportedAmount (signed like
	// Amount) instead of Amount. The batch summaries and net fundings keep the entry as settled.
	OmittedFromReport bool             `json:"omittedFromReport,omitempty"`
	ReportedAmount    *decimal.Decimal `json:"reportedAmount,omitempty"`
}

// reportAmount is the amount the Payment Batch Detail Report shows for e.
func (e BatchEntry) reportAmount() decimal.Decimal {
	if e.ReportedAmount != nil {
		return *e.ReportedAmount
	}
	return e.Amount
}

// Review is a Decision Manager case: a payment the profile sent to REVIEW.
type Review struct {
	// ID is the payment's id, which is also the case id.
	ID                  string     `json:"id"`
	ClientReferenceCode string     `json:"clientReferenceCode,omitempty"`
	Status              string     `json:"status"` // PENDING or RESOLVED
	OriginalDecision    string     `json:"originalDecision"`
	Decision            string     `json:"decision,omitempty"` // ACCEPT or REJECT once resolved
	Reviewer            string     `json:"reviewer,omitempty"`
	Comments            string     `json:"comments,omitempty"`
	Via                 string     `json:"via,omitempty"` // "api" or "businessCenter"
	Actions             []string   `json:"actions,omitempty"`
	Profile             string     `json:"profile"`
	Queue               string     `json:"queue"`
	CreatedAt           time.Time  `json:"createdAt"`
	ResolvedAt          *time.Time `json:"resolvedAt,omitempty"`
}

// Review statuses.
const (
	ReviewPending  = "PENDING"
	ReviewResolved = "RESOLVED"
)

// Snapshot is the whole simulator state, as State and GET /_sim/state return it. Card numbers
// appear only masked.
type Snapshot struct {
	Now        time.Time `json:"now"`
	MerchantID string    `json:"merchantId"`
	// Transactions holds every transaction of every kind, oldest first.
	Transactions []Transaction `json:"transactions"`
	// Captures are the transactions that capture money (captures and sales), Refunds the
	// refunds; both are views of Transactions.
	Captures              []Transaction          `json:"captures"`
	Refunds               []Transaction          `json:"refunds"`
	Batches               []Batch                `json:"batches"`
	Reviews               []Review               `json:"reviews"`
	Customers             []Customer             `json:"customers"`
	PaymentInstruments    []PaymentInstrument    `json:"paymentInstruments"`
	InstrumentIdentifiers []InstrumentIdentifier `json:"instrumentIdentifiers"`
	WebhookDeliveries     []WebhookDelivery      `json:"webhookDeliveries"`
	Faults                Faults                 `json:"faults"`
	// TransientTokens are the Flex transient tokens issued, oldest first, cards masked.
	TransientTokens []TransientToken `json:"transientTokens"`
	// Chargebacks are the chargebacks recorded (POST /_sim/chargebacks), oldest first.
	Chargebacks []Chargeback `json:"chargebacks"`
	// SettlementQuirks are the quirks the next settlement run will apply; empty when none.
	SettlementQuirks SettlementQuirks `json:"settlementQuirks"`
}

// Transaction returns the transaction with id.
func (s Snapshot) Transaction(id string) (Transaction, bool) {
	for _, t := range s.Transactions {
		if t.ID == id {
			return t, true
		}
	}
	return Transaction{}, false
}

// ByReference returns the transactions whose clientReferenceInformation.code is code.
func (s Snapshot) ByReference(code string) []Transaction {
	var out []Transaction
	for _, t := range s.Transactions {
		if t.ClientReferenceCode == code {
			out = append(out, t)
		}
	}
	return out
}

// Deliveries returns the webhook deliveries of one event type.
func (s Snapshot) Deliveries(eventType string) []WebhookDelivery {
	var out []WebhookDelivery
	for _, d := range s.WebhookDeliveries {
		if d.EventType == eventType {
			out = append(out, d)
		}
	}
	return out
}

// State returns a deep copy of the whole state, like GET /_sim/state. Settlement cut-offs that are
// due run first.
func (s *Server) State() Snapshot {
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	snap := Snapshot{Now: s.clock.Now(), MerchantID: s.opts.MerchantID, Faults: s.faults.get(),
		Transactions: []Transaction{}, Captures: []Transaction{}, Refunds: []Transaction{}, Batches: []Batch{},
		Reviews: []Review{}, Customers: []Customer{}, PaymentInstruments: []PaymentInstrument{},
		InstrumentIdentifiers: []InstrumentIdentifier{}, TransientTokens: []TransientToken{}, WebhookDeliveries: []WebhookDelivery{},
		Chargebacks: []Chargeback{}, SettlementQuirks: st.quirks.clone()}
	for _, id := range st.txnOrder {
		t := copyTransaction(st.txns[id])
		snap.Transactions = append(snap.Transactions, t)
		switch t.Kind {
		case KindCapture, KindSale:
			snap.Captures = append(snap.Captures, t)
		case KindRefund:
			snap.Refunds = append(snap.Refunds, t)
		}
	}
	for _, b := range st.batches {
		c := *b
		c.Entries = slices.Clone(b.Entries)
		for i := range c.Entries {
			if a := c.Entries[i].ReportedAmount; a != nil {
				amount := *a
				c.Entries[i].ReportedAmount = &amount
			}
		}
		snap.Batches = append(snap.Batches, c)
	}
	for _, cb := range st.chargebacks {
		snap.Chargebacks = append(snap.Chargebacks, *cb)
	}
	for _, id := range st.reviewOrder {
		r := *st.reviews[id]
		r.Actions = slices.Clone(r.Actions)
		if r.ResolvedAt != nil {
			at := *r.ResolvedAt
			r.ResolvedAt = &at
		}
		snap.Reviews = append(snap.Reviews, r)
	}
	for _, id := range st.customerOrder {
		snap.Customers = append(snap.Customers, *st.customers[id])
	}
	for _, id := range st.instrumentOrder {
		pi := *st.instruments[id]
		if pi.BillTo != nil {
			b := *pi.BillTo
			pi.BillTo = &b
		}
		snap.PaymentInstruments = append(snap.PaymentInstruments, pi)
	}
	for _, id := range st.identifierOrder {
		snap.InstrumentIdentifiers = append(snap.InstrumentIdentifiers, *st.identifiers[id])
	}
	for _, jti := range st.transientTokenOrder {
		snap.TransientTokens = append(snap.TransientTokens, st.transientTokens[jti].TransientToken)
	}
	for _, n := range st.notifications {
		snap.WebhookDeliveries = append(snap.WebhookDeliveries, n.snapshot())
	}
	return snap
}

// copyTransaction deep-copies t.
func copyTransaction(t *Transaction) Transaction {
	c := *t
	c.FollowOns = slices.Clone(t.FollowOns)
	c.Applications = slices.Clone(t.Applications)
	if t.Card != nil {
		card := *t.Card
		c.Card = &card
	}
	if t.BillTo != nil {
		b := *t.BillTo
		c.BillTo = &b
	}
	if t.ShipTo != nil {
		b := *t.ShipTo
		c.ShipTo = &b
	}
	c.LineItems = slices.Clone(t.LineItems)
	if t.Risk != nil {
		r := *t.Risk
		c.Risk = &r
	}
	return c
}

// gatewayState is what the gateway holds. The Server's mutex guards it.
type gatewayState struct {
	started  time.Time
	seq      int
	batchSeq int

	txns     map[string]*Transaction
	txnOrder []string
	// byMTI finds the latest transaction sent with a clientReferenceInformation.transactionId,
	// for timeout voids and reversals.
	byMTI map[string]string

	batches []*Batch
	// settledThrough is 00:00 UTC of the day settlement has run up to: everything submitted
	// before it has been batched.
	settledThrough time.Time
	// quirks are applied by the next settlement run, then cleared.
	quirks SettlementQuirks

	chargebacks   []*Chargeback
	chargebackSeq int

	searches map[string]map[string]any

	reviews     map[string]*Review
	reviewOrder []string

	customers       map[string]*Customer
	customerOrder   []string
	instruments     map[string]*PaymentInstrument
	instrumentOrder []string
	identifiers     map[string]*InstrumentIdentifier
	identifierOrder []string
	// panByIdentifier holds the card number behind an instrument identifier, so that a token can
	// be charged; identifierByPAN finds the identifier of a card already tokenized. Neither is
	// ever shown.
	panByIdentifier map[string]string
	identifierByPAN map[string]string

	// transientTokens are the Flex transient tokens issued, by jti, with the card behind each
	// until it is used or expires; never shown but masked.
	transientTokens     map[string]*transientToken
	transientTokenOrder []string

	notifications []*notification
}

func newGatewayState(now time.Time) *gatewayState {
	return &gatewayState{
		started:         now,
		txns:            map[string]*Transaction{},
		byMTI:           map[string]string{},
		settledThrough:  startOfDay(now),
		searches:        map[string]map[string]any{},
		reviews:         map[string]*Review{},
		customers:       map[string]*Customer{},
		instruments:     map[string]*PaymentInstrument{},
		identifiers:     map[string]*InstrumentIdentifier{},
		panByIdentifier: map[string]string{},
		identifierByPAN: map[string]string{},
		transientTokens: map[string]*transientToken{},
	}
}

// add stores a new transaction and links it to its parent.
func (st *gatewayState) add(t *Transaction) {
	st.txns[t.ID] = t
	st.txnOrder = append(st.txnOrder, t.ID)
	if t.ClientTransactionID != "" {
		st.byMTI[t.ClientTransactionID] = t.ID
	}
	if p := st.txns[t.ParentID]; p != nil && t.ParentID != t.ID {
		p.FollowOns = append(p.FollowOns, t.ID)
	}
}

// startOfDay is 00:00 UTC of t's day.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
