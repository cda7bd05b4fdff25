package model

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
)

// Type names of settlement reconciliation's objects in global IDs.
const (
	TypeSettlementBatch       = "SettlementBatch"
	TypeSettlementDiscrepancy = "SettlementDiscrepancy"
	TypeGlJournal             = "GlJournal"
)

// Date is a calendar day, as the Date scalar carries it ("2026-11-21"): midnight UTC of the day.
// It is bound to the scalar by name (gqlgen's autobind); in JSON (a stored mutation payload) it
// is the time's own form.
type Date struct{ time.Time }

// NewDate is the day of t, as t's own location has it (a date column reads as midnight UTC).
func NewDate(t time.Time) Date {
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// MarshalGQL writes the day as YYYY-MM-DD.
func (d Date) MarshalGQL(w io.Writer) {
	io.WriteString(w, strconv.Quote(d.Format(time.DateOnly))) //nolint:errcheck
}

// UnmarshalGQL reads a YYYY-MM-DD day.
func (d *Date) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return BadInput("Date must be a string such as \"2026-11-21\", got %T", v)
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return BadInput("Date %q is not a day in the form YYYY-MM-DD (e.g. \"2026-11-21\")", s)
	}
	*d = Date{t}
	return nil
}

// DateParam is an optional Date as a query parameter.
func DateParam(d *Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time
	return &t
}

// SettlementBatch is one batch a gateway settled.
type SettlementBatch struct {
	ID             string
	RowID          int64
	Gateway        Gateway
	BatchID        string
	BatchDate      Date
	Currency       string
	Gross          *Money
	Refunds        *Money
	Fees           *Money
	Chargebacks    *Money
	Net            *Money
	LineCount      int
	Status         SettlementBatchStatus
	ReconciledAt   *time.Time
	AcceptedBy     *string
	AcceptedAt     *time.Time
	AcceptanceNote *string
	ReportedTotals json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SettlementLine is one line of a batch.
type SettlementLine struct {
	LineNumber           int
	Kind                 SettlementLineKind
	GatewayTransactionID *string
	MerchantReference    *string
	Amount               *Money
	Fee                  *Money
	Currency             string
	MatchStatus          SettlementMatchStatus
	MatchMethod          *SettlementMatchMethod
	Note                 *string
	OccurredAt           *time.Time

	// RowID is the line's row: its payments are found through settlement_matches by it.
	RowID int64
	// SettlementBatchID is the batch the line belongs to.
	SettlementBatchID int64
}

// SettlementDiscrepancy is one thing a reconciliation run found wrong.
type SettlementDiscrepancy struct {
	ID                   string
	RowID                int64
	Kind                 SettlementDiscrepancyKind
	Gateway              Gateway
	SettlementDate       Date
	LineNumbers          []int
	Currency             *string
	Expected             *decimal.Decimal
	Actual               *decimal.Decimal
	Difference           *decimal.Decimal
	MerchantReference    *string
	GatewayTransactionID *string
	Explanation          string
	Status               SettlementDiscrepancyStatus
	ResolvedBy           *string
	ResolvedAt           *time.Time
	ResolutionNote       *string
	CreatedAt            time.Time
	UpdatedAt            time.Time

	SettlementBatchID *int64
	PaymentIDs        []int64
}

// MarshalJSON keeps the scale of the amounts (see decimalJSON).
func (d SettlementDiscrepancy) MarshalJSON() ([]byte, error) {
	type plain SettlementDiscrepancy // without this method
	return json.Marshal(struct {
		plain
		Expected, Actual, Difference *decimalJSON
	}{plain(d), (*decimalJSON)(d.Expected), (*decimalJSON)(d.Actual), (*decimalJSON)(d.Difference)})
}

// GlJournal is the journal of a settlement batch.
type GlJournal struct {
	ID                  string
	RowID               int64
	Status              GlJournalStatus
	Reference           *string
	JournalDate         Date
	Currency            *string
	Description         string
	SysproJournalNumber *string
	SysproYear          *int
	SysproPeriod        *int
	PostedAt            *time.Time
	LastError           *string
	CreatedAt           time.Time
	UpdatedAt           time.Time

	SettlementBatchID *int64
}

// GlJournalLine is one line of a journal, its signed amount split into debit and credit.
type GlJournalLine struct {
	LineNumber  int
	LedgerCode  string
	Description string
	Debit       decimal.Decimal
	Credit      decimal.Decimal
}

func (SettlementBatch) IsNode()               {}
func (b SettlementBatch) GetID() string       { return b.ID }
func (SettlementDiscrepancy) IsNode()         {}
func (d SettlementDiscrepancy) GetID() string { return d.ID }
func (GlJournal) IsNode()                     {}
func (j GlJournal) GetID() string             { return j.ID }

// upperEnum is the GraphQL enum value of a stored spelling: journal_posted → JOURNAL_POSTED.
func upperEnum[E ~string](s string) E { return E(strings.ToUpper(s)) }

func int32Ptr(v *int32) *int {
	if v == nil {
		return nil
	}
	i := int(*v)
	return &i
}

// SettlementBatchFromRow converts a stored batch.
func SettlementBatchFromRow(r db.SettlementBatch) *SettlementBatch {
	totals := json.RawMessage(r.ReportedTotals)
	if len(totals) == 0 {
		totals = json.RawMessage("[]")
	}
	return &SettlementBatch{
		ID:             EncodeGlobalID(TypeSettlementBatch, r.ID),
		RowID:          r.ID,
		Gateway:        upperEnum[Gateway](r.Gateway),
		BatchID:        r.GatewayBatchID,
		BatchDate:      NewDate(r.BatchDate),
		Currency:       strings.TrimSpace(r.Currency),
		Gross:          NewMoney(r.GrossAmount, r.Currency),
		Refunds:        NewMoney(r.RefundAmount, r.Currency),
		Fees:           NewMoney(r.FeeAmount, r.Currency),
		Chargebacks:    NewMoney(r.ChargebackAmount, r.Currency),
		Net:            NewMoney(r.NetAmount, r.Currency),
		LineCount:      int(r.LineCount),
		Status:         upperEnum[SettlementBatchStatus](r.Status),
		ReconciledAt:   r.ReconciledAt,
		AcceptedBy:     r.AcceptedBy,
		AcceptedAt:     r.AcceptedAt,
		AcceptanceNote: r.AcceptanceNote,
		ReportedTotals: totals,
		CreatedAt:      r.CreatedAt,
		UpdatedAt:      r.UpdatedAt,
	}
}

// SettlementLineFromRow converts a stored line.
func SettlementLineFromRow(r db.SettlementLine) *SettlementLine {
	l := &SettlementLine{
		LineNumber:           int(r.LineNumber),
		Kind:                 upperEnum[SettlementLineKind](r.Kind),
		GatewayTransactionID: r.GatewayTransactionID,
		MerchantReference:    r.MerchantReference,
		Amount:               NewMoney(r.Amount, r.Currency),
		Fee:                  NewMoney(r.FeeAmount, r.Currency),
		Currency:             strings.TrimSpace(r.Currency),
		MatchStatus:          upperEnum[SettlementMatchStatus](r.MatchStatus),
		Note:                 r.MatchNote,
		OccurredAt:           r.OccurredAt,
		RowID:                r.ID,
		SettlementBatchID:    r.SettlementBatchID,
	}
	if r.MatchMethod != nil && *r.MatchMethod != "" {
		m := upperEnum[SettlementMatchMethod](*r.MatchMethod)
		l.MatchMethod = &m
	}
	return l
}

// SettlementDiscrepancyFromRow converts a stored discrepancy. Its amounts are shown with the
// currency's minor units where nothing is lost (as Money's are).
func SettlementDiscrepancyFromRow(r db.SettlementDiscrepancy) *SettlementDiscrepancy {
	currency := ""
	if r.Currency != nil {
		currency = strings.TrimSpace(*r.Currency)
	}
	amount := func(d decimal.NullDecimal) *decimal.Decimal {
		if !d.Valid {
			return nil
		}
		return &NewMoney(d.Decimal, currency).Amount
	}
	d := &SettlementDiscrepancy{
		ID:                   EncodeGlobalID(TypeSettlementDiscrepancy, r.ID),
		RowID:                r.ID,
		Kind:                 upperEnum[SettlementDiscrepancyKind](r.Kind),
		Gateway:              upperEnum[Gateway](r.Gateway),
		SettlementDate:       NewDate(r.SettlementDate),
		LineNumbers:          make([]int, len(r.LineNumbers)),
		Expected:             amount(r.Expected),
		Actual:               amount(r.Actual),
		MerchantReference:    r.MerchantReference,
		GatewayTransactionID: r.GatewayTransactionID,
		Explanation:          r.Explanation,
		Status:               upperEnum[SettlementDiscrepancyStatus](r.Status),
		ResolvedBy:           r.ResolvedBy,
		ResolvedAt:           r.ResolvedAt,
		ResolutionNote:       r.ResolutionNote,
		CreatedAt:            r.CreatedAt,
		UpdatedAt:            r.UpdatedAt,
		SettlementBatchID:    r.SettlementBatchID,
		PaymentIDs:           r.PaymentIds,
	}
	if r.Currency != nil {
		d.Currency = &currency
	}
	for i, n := range r.LineNumbers {
		d.LineNumbers[i] = int(n)
	}
	if d.PaymentIDs == nil {
		d.PaymentIDs = []int64{}
	}
	if r.Expected.Valid && r.Actual.Valid {
		d.Difference = amount(decimal.NullDecimal{Decimal: r.Actual.Decimal.Sub(r.Expected.Decimal), Valid: true})
	}
	return d
}

// GlJournalFromRow converts a stored journal.
func GlJournalFromRow(r db.GlJournal) *GlJournal {
	j := &GlJournal{
		ID:                  EncodeGlobalID(TypeGlJournal, r.ID),
		RowID:               r.ID,
		Status:              upperEnum[GlJournalStatus](r.Status),
		Reference:           r.Reference,
		JournalDate:         NewDate(r.JournalDate),
		Description:         r.Description,
		SysproJournalNumber: r.SysproJournalNumber,
		SysproYear:          int32Ptr(r.SysproYear),
		SysproPeriod:        int32Ptr(r.SysproPeriod),
		PostedAt:            r.PostedAt,
		LastError:           r.LastError,
		CreatedAt:           r.CreatedAt,
		UpdatedAt:           r.UpdatedAt,
		SettlementBatchID:   r.SettlementBatchID,
	}
	if r.Currency != nil {
		c := strings.TrimSpace(*r.Currency)
		j.Currency = &c
	}
	return j
}

// GlJournalLineFromRow converts a stored journal line (amount positive for a debit, negative for
// a credit) in the journal's currency.
func GlJournalLineFromRow(r db.GlJournalLine, currency string) *GlJournalLine {
	amount := NewMoney(r.Amount, currency).Amount
	zero := decimal.New(0, amount.Exponent())
	l := &GlJournalLine{LineNumber: int(r.LineNumber), LedgerCode: r.LedgerCode, Description: r.Description,
		Debit: zero, Credit: zero}
	if amount.IsNegative() {
		l.Credit = amount.Neg()
	} else {
		l.Debit = amount
	}
	return l
}

// SettlementBatchConnection is one page of settlementBatches; Count holds the page's filter so
// totalCount is only computed when a client asks for it.
type SettlementBatchConnection struct {
	Edges    []*SettlementBatchEdge
	Nodes    []*SettlementBatch
	PageInfo *PageInfo
	Count    db.CountSettlementBatchesParams
}

// SettlementDiscrepancyConnection is one page of settlementDiscrepancies; Count holds the page's
// filter (its keyset and limit unused) for totalCount.
type SettlementDiscrepancyConnection struct {
	Edges    []*SettlementDiscrepancyEdge
	Nodes    []*SettlementDiscrepancy
	PageInfo *PageInfo
	Count    db.CountSettlementDiscrepanciesParams
}

// SettlementLineConnection is one page of a batch's lines; Count holds the page's filter (its
// keyset and limit unused) for totalCount.
type SettlementLineConnection struct {
	Edges    []*SettlementLineEdge
	Nodes    []*SettlementLine
	PageInfo *PageInfo
	Count    db.CountSettlementLinesParams
}
