package opayosim

import (
	"time"

	"github.com/shopspring/decimal"
)

// Snapshot is the whole simulator state, as State() and GET /_sim/state return it. Cards appear only
// as type, last four digits and expiry.
type Snapshot struct {
	Now           time.Time              `json:"now"`
	Transactions  []TransactionState     `json:"transactions"`
	Batches       []BatchState           `json:"batches"`
	Notifications []NotificationDelivery `json:"notifications"`
	// MerchantSessionKeys counts the keys ever issued; ActiveMerchantSessionKeys those still alive.
	MerchantSessionKeys       int `json:"merchantSessionKeys"`
	ActiveMerchantSessionKeys int `json:"activeMerchantSessionKeys"`
	// CardIdentifiers counts live card identifiers; ReusableCardIdentifiers the saved ones.
	CardIdentifiers         int `json:"cardIdentifiers"`
	ReusableCardIdentifiers int `json:"reusableCardIdentifiers"`
	// SettlementQuirks are the quirks the next settlement run will apply; empty when none.
	SettlementQuirks SettlementQuirks `json:"settlementQuirks"`
}

// TransactionState is one transaction, whichever protocol created it. Amounts are given both in
// major units (decimal) and in minor units (as on the Pi wire).
type TransactionState struct {
	TransactionID        string           `json:"transactionId"` // Pi transactionId; Reporting's vpstxid is "{" + it + "}"
	Origin               string           `json:"origin"`        // "pi" or "server"
	TransactionType      string           `json:"transactionType"`
	VendorTxCode         string           `json:"vendorTxCode"`
	Status               string           `json:"status"`
	StatusCode           string           `json:"statusCode"`
	StatusDetail         string           `json:"statusDetail"`
	TxStateID            int              `json:"txStateId"`
	TxState              string           `json:"txState"`
	Amount               decimal.Decimal  `json:"amount"`
	AmountMinor          int64            `json:"amountMinor"`
	Currency             string           `json:"currency"`
	RefundedAmount       decimal.Decimal  `json:"refundedAmount"`
	RefundedMinor        int64            `json:"refundedMinor"`
	ReleasedAmount       *decimal.Decimal `json:"releasedAmount,omitempty"`
	ReleasedMinor        *int64           `json:"releasedMinor,omitempty"`
	AuthorisedMinor      int64            `json:"authorisedMinor,omitempty"` // Σ Authorise against an Authenticate
	RelatedTransactionID string           `json:"relatedTransactionId,omitempty"`
	Instructions         []Instruction    `json:"instructions,omitempty"`
	BatchID              string           `json:"batchId,omitempty"`
	AuthProcessor        string           `json:"authProcessor,omitempty"`
	Settled              bool             `json:"settled"`
	SettledAt            *time.Time       `json:"settledAt,omitempty"`
	SecurityKey          string           `json:"securityKey"`
	CardType             string           `json:"cardType,omitempty"`
	LastFourDigits       string           `json:"lastFourDigits,omitempty"`
	ExpiryDate           string           `json:"expiryDate,omitempty"`
	CardIdentifier       string           `json:"cardIdentifier,omitempty"`
	ThreeDSecureStatus   string           `json:"threeDSecureStatus,omitempty"`
	AvsCvcStatus         string           `json:"avsCvcStatus,omitempty"`
	BankResponseCode     string           `json:"bankResponseCode,omitempty"`
	NotificationURL      string           `json:"notificationURL,omitempty"`
	CreatedAt            time.Time        `json:"createdAt"`
	CompletedAt          time.Time        `json:"completedAt"`
}

// BatchState is one settlement batch with its per-currency totals.
type BatchState struct {
	BatchID        string       `json:"batchId"`
	AuthProcessor  string       `json:"authProcessor"`
	MerchantNumber string       `json:"merchantNumber"`
	BusinessDay    string       `json:"businessDay"` // YYYY-MM-DD, Europe/London
	Completed      time.Time    `json:"completed"`
	Groups         []BatchGroup `json:"groups"`
	TransactionIDs []string     `json:"transactionIds"`
	// OmittedTransactionIDs and ReportedAmounts (major units, by transaction id) are the settlement
	// quirks applied to this batch: getBatchDetail leaves the former out and shows the latter with
	// those amounts. Groups and TransactionIDs still count them as settled.
	OmittedTransactionIDs []string                   `json:"omittedTransactionIds,omitempty"`
	ReportedAmounts       map[string]decimal.Decimal `json:"reportedAmounts,omitempty"`
}

// BatchGroup is a batch's gross totals for one currency.
type BatchGroup struct {
	Currency      string          `json:"currency"`
	PaymentNumber int             `json:"paymentNumber"`
	PaymentValue  decimal.Decimal `json:"paymentValue"`
	RefundNumber  int             `json:"refundNumber"`
	RefundValue   decimal.Decimal `json:"refundValue"`
}

// NotificationDelivery is the notification POST of one Server-protocol transaction.
type NotificationDelivery struct {
	VPSTxID         string                `json:"vpsTxId"`
	VendorTxCode    string                `json:"vendorTxCode"`
	NotificationURL string                `json:"notificationURL"`
	State           string                `json:"state"` // DeliveryPending, DeliveryDelivered or DeliveryFailed
	Fields          map[string]string     `json:"fields"`
	Attempts        []NotificationAttempt `json:"attempts"`
	NextAttemptAt   *time.Time            `json:"nextAttemptAt,omitempty"`
	ReplyStatus     string                `json:"replyStatus,omitempty"`
	RedirectURL     string                `json:"redirectURL,omitempty"`
}

// NotificationAttempt is one POST to a NotificationURL and what came back.
type NotificationAttempt struct {
	Number       int       `json:"number"`
	At           time.Time `json:"at"` // simulator time the attempt was scheduled for
	HTTPStatus   int       `json:"httpStatus,omitempty"`
	Error        string    `json:"error,omitempty"` // why the attempt did not count as a reply
	Reply        string    `json:"reply,omitempty"` // the reply body (first 2 KiB)
	ReplyStatus  string    `json:"replyStatus,omitempty"`
	RedirectURL  string    `json:"redirectURL,omitempty"`
	StatusDetail string    `json:"statusDetail,omitempty"`
	Accepted     bool      `json:"accepted"`
}

// State returns a deep copy of the whole state, like GET /_sim/state. It first runs any settlement
// that is due.
func (s *Server) State() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.settleDue(now)
	snap := Snapshot{
		Now:                 now,
		Transactions:        []TransactionState{},
		Batches:             []BatchState{},
		Notifications:       []NotificationDelivery{},
		MerchantSessionKeys: s.msksIssued,
		SettlementQuirks:    s.quirks.clone(),
	}
	for _, m := range s.msks {
		if m.live(now) {
			snap.ActiveMerchantSessionKeys++
		}
	}
	for _, c := range s.cards {
		if c.usable(now) {
			snap.CardIdentifiers++
		}
		if c.reusable {
			snap.ReusableCardIdentifiers++
		}
	}
	for _, t := range s.txOrder {
		snap.Transactions = append(snap.Transactions, t.state())
	}
	for _, b := range s.batches {
		bs := BatchState{
			BatchID:        b.id,
			AuthProcessor:  b.authProcessor,
			MerchantNumber: b.merchantNumber,
			BusinessDay:    b.businessDay.Format("2006-01-02"),
			Completed:      b.completed,
			Groups:         []BatchGroup{},
		}
		for _, g := range b.groups() {
			bs.Groups = append(bs.Groups, BatchGroup{
				Currency:      g.currency,
				PaymentNumber: g.paymentNumber,
				PaymentValue:  majorAmount(g.paymentValue, g.currency),
				RefundNumber:  g.refundNumber,
				RefundValue:   majorAmount(g.refundValue, g.currency),
			})
		}
		for _, t := range b.txs {
			bs.TransactionIDs = append(bs.TransactionIDs, t.id)
			if b.omitted[t.id] {
				bs.OmittedTransactionIDs = append(bs.OmittedTransactionIDs, t.id)
			}
			if a, ok := b.reported[t.id]; ok {
				if bs.ReportedAmounts == nil {
					bs.ReportedAmounts = map[string]decimal.Decimal{}
				}
				bs.ReportedAmounts[t.id] = majorAmount(a, t.currency)
			}
		}
		snap.Batches = append(snap.Batches, bs)
	}
	for _, d := range s.deliveries {
		t := s.txs[d.txID]
		nd := NotificationDelivery{
			VPSTxID:         braced(d.txID),
			VendorTxCode:    t.vendorTxCode,
			NotificationURL: d.url,
			State:           d.state,
			Fields:          map[string]string{},
			Attempts:        append([]NotificationAttempt{}, d.attempts...),
			ReplyStatus:     d.replyStatus,
			RedirectURL:     d.redirectURL,
		}
		for _, kv := range d.fields {
			nd.Fields[kv[0]] = kv[1]
		}
		if d.state == DeliveryPending && !d.inFlight {
			next := d.nextAt
			nd.NextAttemptAt = &next
		}
		snap.Notifications = append(snap.Notifications, nd)
	}
	return snap
}

func (t *transaction) state() TransactionState {
	ts := TransactionState{
		TransactionID:        t.id,
		Origin:               t.origin,
		TransactionType:      t.txType,
		VendorTxCode:         t.vendorTxCode,
		Status:               t.status,
		StatusCode:           t.statusCode,
		StatusDetail:         t.statusDetail,
		TxStateID:            t.txState,
		TxState:              txStateText[t.txState],
		Amount:               majorAmount(t.amount, t.currency),
		AmountMinor:          t.amount,
		Currency:             t.currency,
		RefundedAmount:       majorAmount(t.refunded, t.currency),
		RefundedMinor:        t.refunded,
		AuthorisedMinor:      t.authorisedTotal,
		RelatedTransactionID: t.relatedID,
		Instructions:         append([]Instruction(nil), t.instructions...),
		BatchID:              t.batchID,
		AuthProcessor:        t.authProcessor,
		Settled:              t.batchID != "",
		SecurityKey:          t.securityKey,
		ThreeDSecureStatus:   t.threeDS,
		BankResponseCode:     t.bankResponseCode,
		CreatedAt:            t.createdAt,
		CompletedAt:          t.completedAt,
	}
	if t.released != nil {
		r := *t.released
		d := majorAmount(r, t.currency)
		ts.ReleasedMinor, ts.ReleasedAmount = &r, &d
	}
	if t.batchID != "" {
		at := t.settledAt
		ts.SettledAt = &at
	}
	if t.card != nil {
		ts.CardType, ts.LastFourDigits, ts.ExpiryDate, ts.CardIdentifier = t.card.cardType, t.card.last4, t.card.expiry, t.card.cardIdentifier
	}
	if t.avs != nil {
		ts.AvsCvcStatus = t.avs.Status
	}
	if t.server != nil {
		ts.NotificationURL = t.server.notificationURL
	}
	return ts
}
