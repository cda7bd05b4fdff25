package opayo

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// TxState is the Reporting txstateid: where a transaction is in its life (opayo.md §3.3).
type TxState int

// The txstateid values Payhub acts on.
const (
	TxStateRejected                       TxState = 10
	TxStateDeclined                       TxState = 12
	TxStateDeferredAwaitingRelease        TxState = 14
	TxStateAuthenticatedAwaitingAuthorise TxState = 15
	TxStateAuthorised                     TxState = 16
	TxStateVoided                         TxState = 18
	TxStateDeferredAborted                TxState = 19
	TxStateRegistered                     TxState = 21
	TxStateCouldNotSettle                 TxState = 23
	TxStateDeferredExpired                TxState = 27
)

// TransactionRef names one transaction for GetTransactionDetail: by Opayo's id or by Payhub's
// vendorTxCode. Build it with ByVPSTxID or ByVendorTxCode.
type TransactionRef struct {
	VPSTxID      string
	VendorTxCode string
}

// ByVPSTxID refers to a transaction by Opayo's id (the Pi transactionId, the Server VPSTxId).
func ByVPSTxID(id string) TransactionRef { return TransactionRef{VPSTxID: id} }

// ByVendorTxCode refers to a transaction by Payhub's vendorTxCode; this is how a transaction
// whose creation answer was lost is found again.
func ByVendorTxCode(code string) TransactionRef { return TransactionRef{VendorTxCode: code} }

// TransactionDetail is the Reporting getTransactionDetail answer (opayo.md §3.3).
type TransactionDetail struct {
	// VPSTxID is as Reporting writes it, usually in braces ("{GUID}"); the Pi transactionId is
	// the same GUID without them.
	VPSTxID         string
	VendorTxCode    string
	TransactionType string
	TxStateID       TxState
	// Status is Opayo's text for the state.
	Status      string
	Description string
	// Amount is in major units of Currency.
	Amount    decimal.Decimal
	Surcharge decimal.Decimal
	Currency  string
	// Started and Completed are in Europe/London; zero when absent.
	Started   time.Time
	Completed time.Time
	// SecurityKey is the key that signs this transaction's Server notifications.
	SecurityKey Secret
	// BatchID is the settlement batch; empty until settled.
	BatchID string
	// AuthProcessor is the acquirer, as getBatchDetail's authprocessor wants it.
	AuthProcessor  string
	MerchantNumber string
	AccountType    string
	// PaymentSystem is the card scheme: VISA, MC, AMEX, ...
	PaymentSystem        string
	PaymentSystemDetails string
	ExpiryDate           string
	Last4Digits          string
	VPSAuthCode          string
	BankAuthCode         string
	DeclineCode          string
	ClientIP             string
	GiftAid              bool
	Refunded             bool
	Repeated             bool

	Billing  ContactAddress
	Delivery ContactAddress
	Card     ContactAddress

	Cardholder    string
	CustomerName  string
	CustomerEmail string
	ContactNumber string
	SystemUsed    string
	VPSProtocol   string

	CV2Result      string
	AddressResult  string
	PostcodeResult string
	ThreeDAttempt  string
	ThreeDResult   string
	ECI            string
	T3MScore       string
	T3MAction      string
	T3MID          string

	RelatedVPSTxID      string
	RelatedVendorTxCode string
}

// ContactAddress is one of the billing, delivery and card address groups of a detail.
type ContactAddress struct {
	FirstNames string
	Surname    string
	Address    string
	Address2   string
	City       string
	State      string
	Postcode   string
	Country    string
	Phone      string
}

// GetTransactionDetail fetches everything Reporting knows about one transaction, including the
// SecurityKey and, once settled, the BatchID. An unknown transaction is ClassNotFound (0043).
func (c *Client) GetTransactionDetail(ctx context.Context, ref TransactionRef) (*TransactionDetail, error) {
	const cmd = "getTransactionDetail"
	var params []reportingParam
	switch {
	case ref.VPSTxID != "" && ref.VendorTxCode == "":
		params = []reportingParam{{"vpstxid", ref.VPSTxID}}
	case ref.VendorTxCode != "" && ref.VPSTxID == "":
		params = []reportingParam{{"vendortxcode", ref.VendorTxCode}}
	default:
		return nil, invalidRequest(cmd, "exactly one of VPSTxID and VendorTxCode is required")
	}
	root, err := c.reportingCall(ctx, cmd, params)
	if err != nil {
		return nil, err
	}
	d, err := parseTransactionDetail(root)
	if err != nil {
		return nil, &Error{Class: ClassTransient, Op: cmd, Message: "unreadable response: " + sanitize(err.Error()), cause: err}
	}
	return d, nil
}

func parseTransactionDetail(n *xmlNode) (*TransactionDetail, error) {
	d := &TransactionDetail{
		VPSTxID:              n.value("vpstxid"),
		VendorTxCode:         n.value("vendortxcode"),
		TransactionType:      n.value("transactiontype"),
		Status:               n.value("status"),
		Description:          n.value("description"),
		Currency:             n.value("currency"),
		SecurityKey:          Secret(n.value("securitykey")),
		BatchID:              n.value("batchid"),
		AuthProcessor:        n.value("authprocessor"),
		MerchantNumber:       n.value("merchantnumber"),
		AccountType:          n.value("accounttype"),
		PaymentSystem:        n.value("paymentsystem"),
		PaymentSystemDetails: n.value("paymentsystemdetails"),
		ExpiryDate:           n.value("expirydate"),
		Last4Digits:          n.value("last4digits"),
		VPSAuthCode:          n.value("vpsauthcode"),
		BankAuthCode:         n.value("bankauthcode"),
		DeclineCode:          n.value("declinecode"),
		ClientIP:             n.value("clientip"),
		GiftAid:              yesNo(n.value("giftaid")),
		Refunded:             yesNo(n.value("refunded")),
		Repeated:             yesNo(n.value("repeated")),
		Billing:              contactAddress(n, "billing"),
		Delivery:             contactAddress(n, "delivery"),
		Card:                 contactAddress(n, "card"),
		Cardholder:           n.value("cardholder"),
		CustomerName:         n.value("customername"),
		CustomerEmail:        n.value("customeremail"),
		ContactNumber:        n.value("contactnumber"),
		SystemUsed:           n.value("systemused"),
		VPSProtocol:          n.value("vpsprotocol"),
		CV2Result:            n.value("cv2result"),
		AddressResult:        n.value("addressresult"),
		PostcodeResult:       n.value("postcoderesult"),
		ThreeDAttempt:        n.value("threedattempt"),
		ThreeDResult:         n.value("threedresult"),
		ECI:                  n.value("eci"),
		T3MScore:             n.value("t3mscore"),
		T3MAction:            n.value("t3maction"),
		T3MID:                n.value("t3mid"),
		RelatedVPSTxID:       n.value("relatedvpstxid"),
		RelatedVendorTxCode:  n.value("relatedvendortxcode"),
	}
	var err error
	if s := n.value("txstateid"); s != "" {
		id, convErr := strconv.Atoi(s)
		if convErr != nil {
			return nil, errors.New("txstateid is not a number")
		}
		d.TxStateID = TxState(id)
	}
	if d.Amount, err = parseReportingAmount(n.value("amount")); err != nil {
		return nil, err
	}
	if d.Surcharge, err = parseReportingAmount(n.value("surcharge")); err != nil {
		return nil, err
	}
	if d.Started, err = parseReportingTime(n.value("started")); err != nil {
		return nil, err
	}
	if d.Completed, err = parseReportingTime(n.value("completed")); err != nil {
		return nil, err
	}
	return d, nil
}

func contactAddress(n *xmlNode, prefix string) ContactAddress {
	first := n.value(prefix + "firstnames")
	if first == "" && prefix == "billing" {
		first = n.value("billingfirstname")
	}
	return ContactAddress{
		FirstNames: first,
		Surname:    n.value(prefix + "surname"),
		Address:    firstNonEmpty(n.value(prefix+"address"), n.value(prefix+"address1")),
		Address2:   n.value(prefix + "address2"),
		City:       n.value(prefix + "city"),
		State:      n.value(prefix + "state"),
		Postcode:   n.value(prefix + "postcode"),
		Country:    n.value(prefix + "country"),
		Phone:      n.value(prefix + "phone"),
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// yesNo reads Reporting's YES/NO flags (and 1/0, true/false).
func yesNo(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YES", "Y", "1", "TRUE":
		return true
	}
	return false
}

// TransactionSummary is one row of getTransactionList or getBatchDetail.
type TransactionSummary struct {
	VPSTxID         string
	VendorTxCode    string
	TransactionType string
	// Started is in Europe/London.
	Started time.Time
	// Amount is in major units of Currency.
	Amount     decimal.Decimal
	Currency   string
	Cardholder string
	// Result is Opayo's outcome word, e.g. SUCCESS.
	Result          string
	Status          string
	TxStateID       TxState
	PaymentSystem   string
	Last4Digits     string
	BatchID         string
	Refunded        bool
	FraudCodeDetail string
}

func parseTransactionSummary(n *xmlNode) (TransactionSummary, error) {
	s := TransactionSummary{
		VPSTxID:         n.value("vpstxid"),
		VendorTxCode:    n.value("vendortxcode"),
		TransactionType: n.value("transactiontype"),
		Currency:        n.value("currency"),
		Cardholder:      n.value("cardholder"),
		Result:          n.value("result"),
		Status:          n.value("status"),
		PaymentSystem:   n.value("paymentsystem"),
		Last4Digits:     n.value("last4digits"),
		BatchID:         n.value("batchid"),
		Refunded:        yesNo(n.value("refunded")),
		FraudCodeDetail: n.value("fraudcodedetail"),
	}
	var err error
	if s.Started, err = parseReportingTime(n.value("started")); err != nil {
		return s, err
	}
	if s.Amount, err = parseReportingAmount(n.value("amount")); err != nil {
		return s, err
	}
	if v := n.value("txstateid"); v != "" {
		id, convErr := strconv.Atoi(v)
		if convErr != nil {
			return s, errors.New("txstateid is not a number")
		}
		s.TxStateID = TxState(id)
	}
	return s, nil
}

// TransactionListQuery selects transactions for GetTransactionList.
type TransactionListQuery struct {
	// Start and End bound the transactions' dates. Opayo serves at most one month per request
	// (0039); longer ranges are fetched as calendar-month windows, oldest first.
	Start, End time.Time
	// SearchPhrase and RelatedTransactionID narrow the search when set.
	SearchPhrase         string
	RelatedTransactionID string
}

// errStopIteration ends a paged walk early without an error.
var errStopIteration = errors.New("opayo: stop iteration")

// GetTransactionList calls fn for every transaction in q's range, oldest month first, fetching
// pages of 50 rows until Opayo's totalrows. It stops at the first error fn or Opayo returns.
func (c *Client) GetTransactionList(ctx context.Context, q TransactionListQuery, fn func(TransactionSummary) error) error {
	const cmd = "getTransactionList"
	if q.Start.IsZero() || q.End.IsZero() || q.End.Before(q.Start) {
		return invalidRequest(cmd, "Start and End are required and End must not be before Start")
	}
	for _, w := range monthWindows(q.Start, q.End) {
		base := []reportingParam{
			{"sorttype", "ByDate"},
			{"sortorder", "ASC"},
			{"startdate", formatReportingDate(w.start)},
			{"enddate", formatReportingDate(w.end)},
		}
		if q.RelatedTransactionID != "" {
			base = append(base, reportingParam{"relatedtransactionid", q.RelatedTransactionID})
		}
		if q.SearchPhrase != "" {
			base = append(base, reportingParam{"searchphrase", q.SearchPhrase})
		}
		if err := c.pagedTransactions(ctx, cmd, base, fn); err != nil {
			return err
		}
	}
	return nil
}

// TransactionList is GetTransactionList as an iterator; iteration ends after the first error.
func (c *Client) TransactionList(ctx context.Context, q TransactionListQuery) iter.Seq2[TransactionSummary, error] {
	return func(yield func(TransactionSummary, error) bool) {
		err := c.GetTransactionList(ctx, q, func(s TransactionSummary) error {
			if !yield(s, nil) {
				return errStopIteration
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopIteration) {
			yield(TransactionSummary{}, err)
		}
	}
}

// pagedTransactions walks startrow/endrow windows of reportingPageRows (1-based, inclusive)
// until the rows Opayo reports as totalrows are read, or a page comes back empty.
func (c *Client) pagedTransactions(ctx context.Context, cmd string, base []reportingParam, fn func(TransactionSummary) error) error {
	start := 1
	for {
		params := append(append([]reportingParam(nil), base...),
			reportingParam{"startrow", strconv.Itoa(start)},
			reportingParam{"endrow", strconv.Itoa(start + reportingPageRows - 1)})
		root, err := c.reportingCall(ctx, cmd, params)
		if err != nil {
			return err
		}
		list := root.child("transactions")
		rows := list.all("transaction")
		for _, r := range rows {
			s, err := parseTransactionSummary(r)
			if err != nil {
				return &Error{Class: ClassTransient, Op: cmd, Message: "unreadable row: " + sanitize(err.Error()), cause: err}
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		total, _ := strconv.Atoi(list.value("totalrows"))
		end := start + len(rows) - 1
		if e, err := strconv.Atoi(list.value("endrow")); err == nil && e >= start {
			end = e
		}
		if len(rows) == 0 || end >= total {
			return nil
		}
		start = end + 1
	}
}

// window is one date range Opayo will serve in a single request.
type window struct{ start, end time.Time }

// monthWindows splits [start, end] at UK calendar-month boundaries, so no window spans more
// than one month; each window ends one second before the next begins, as Opayo's dates have
// one-second resolution and both ends are inclusive.
func monthWindows(start, end time.Time) []window {
	var out []window
	s := start.In(reportingLocation)
	e := end.In(reportingLocation)
	for !s.After(e) {
		next := time.Date(s.Year(), s.Month()+1, 1, 0, 0, 0, 0, reportingLocation)
		wEnd := next.Add(-time.Second)
		if wEnd.After(e) {
			wEnd = e
		}
		out = append(out, window{start: s, end: wEnd})
		s = next
	}
	return out
}
