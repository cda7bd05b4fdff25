package opayo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/shopspring/decimal"
)

// TransactionStatus is Pi's status of a transaction.
type TransactionStatus string

// Pi statuses (opayo.md §2.5). Ok, Registered and Authenticated are successes; NotAuthed and
// Rejected are declines that still came back as HTTP 201; 3DAuth asks for a challenge.
const (
	StatusOk            TransactionStatus = "Ok"
	StatusNotAuthed     TransactionStatus = "NotAuthed"
	StatusRejected      TransactionStatus = "Rejected"
	StatusMalformed     TransactionStatus = "Malformed"
	StatusInvalid       TransactionStatus = "Invalid"
	StatusError         TransactionStatus = "Error"
	Status3DAuth        TransactionStatus = "3DAuth"
	StatusRegistered    TransactionStatus = "Registered"
	StatusAuthenticated TransactionStatus = "Authenticated"
)

// Transaction is Pi's transaction object, as created (201), awaiting 3-D Secure (202) or
// retrieved (200). A declined or rejected transaction is a Transaction with Status NotAuthed or
// Rejected and Opayo's StatusCode (2000, 2001, 4026), not an error: Opayo created it, and the
// decline is a business outcome to record.
type Transaction struct {
	// ID is the transactionId; the same value is the Reporting API's vpstxid.
	ID   string
	Type TransactionType
	// Status is Ok, NotAuthed, Rejected, Malformed, Invalid, Error, 3DAuth, Registered or
	// Authenticated.
	Status TransactionStatus
	// StatusCode is Opayo's four-digit code as text: "0000" success, "2000" declined,
	// "2021" 3DSv2 challenge, "2007" 3DSv1 redirect, "2005" voided, ...
	StatusCode   string
	StatusDetail string
	// RetrievalReference is Opayo's authorisation reference; Pi sends it as a JSON number or a
	// string, and it is kept as the digits Opayo sent.
	RetrievalReference    string
	BankResponseCode      string
	BankAuthorisationCode string
	// Card is paymentMethod.card; nil when Opayo sent none.
	Card *TransactionCard
	// Amount holds the total, sale and surcharge amounts in major units of Currency.
	Amount   Amount
	Currency string
	// AvsCvcCheck is present for Payment and Deferred.
	AvsCvcCheck *AvsCvcCheck
	// ThreeDSecureStatus is 3DSecure.status: Authenticated, NotChecked, NotAuthenticated, Error,
	// CardNotEnrolled, IssuerNotEnrolled, MalformedOrInvalid, AttemptOnly, Incomplete.
	ThreeDSecureStatus string
	// ACSURL is where the shopper's browser must POST CReq (as "creq") or PaReq on a 202.
	ACSURL string
	// CReq is the 3DSv2 challenge request to forward to ACSURL.
	CReq string
	// PaReq is the legacy 3DSv1 request to forward to ACSURL.
	PaReq                   string
	ACSTransID              string
	DSTransID               string
	SettlementReferenceText string
	// AdditionalDeclineDetail explains a decline, when the scheme gave a reason.
	AdditionalDeclineDetail *AdditionalDeclineDetail
	// HTTPStatus is 200, 201 or 202.
	HTTPStatus int
}

// Succeeded reports whether the transaction went through: Ok, Registered or Authenticated.
func (t *Transaction) Succeeded() bool {
	return t.Status == StatusOk || t.Status == StatusRegistered || t.Status == StatusAuthenticated
}

// Declined reports whether the bank or the vendor's rules refused it (NotAuthed, Rejected).
func (t *Transaction) Declined() bool {
	return t.Status == StatusNotAuthed || t.Status == StatusRejected
}

// NeedsChallenge reports whether the shopper must complete 3-D Secure at ACSURL.
func (t *Transaction) NeedsChallenge() bool { return t.Status == Status3DAuth }

// TransactionCard is what Pi says about the card used. The expiry is accepted from both
// "expiryDate" (official examples) and "expiry" (the 2023 OpenAPI).
type TransactionCard struct {
	CardType       string
	LastFourDigits string
	// ExpiryDate is MMYY.
	ExpiryDate     string
	CardIdentifier string
	Reusable       bool
}

// Amount is Pi's amount object converted to major units.
type Amount struct {
	Total     decimal.Decimal
	Sale      decimal.Decimal
	Surcharge decimal.Decimal
}

// AvsCvcCheck is the AVS/CV2 result: Status is AllMatched, SecurityCodeMatchOnly,
// AddressMatchOnly, NoMatches or NotChecked; the parts are Matched, NotProvided, NotChecked or
// NotMatched.
type AvsCvcCheck struct {
	Status       string
	Address      string
	PostalCode   string
	SecurityCode string
}

// AdditionalDeclineDetail is the scheme's extra decline reason; Category "01".."04" says
// whether a retry may help.
type AdditionalDeclineDetail struct {
	Code        string
	Description string
	Category    string
}

// wireTransaction is the Pi transaction body as sent.
type wireTransaction struct {
	TransactionID         string     `json:"transactionId"`
	TransactionType       string     `json:"transactionType"`
	Status                string     `json:"status"`
	StatusCode            flexString `json:"statusCode"`
	StatusDetail          string     `json:"statusDetail"`
	RetrievalReference    flexString `json:"retrievalReference"`
	BankResponseCode      flexString `json:"bankResponseCode"`
	BankAuthorisationCode flexString `json:"bankAuthorisationCode"`
	PaymentMethod         *struct {
		Card *struct {
			CardType       string     `json:"cardType"`
			LastFourDigits flexString `json:"lastFourDigits"`
			ExpiryDate     flexString `json:"expiryDate"`
			Expiry         flexString `json:"expiry"`
			CardIdentifier string     `json:"cardIdentifier"`
			Reusable       bool       `json:"reusable"`
		} `json:"card"`
	} `json:"paymentMethod"`
	Amount       json.RawMessage `json:"amount"`
	Currency     string          `json:"currency"`
	ThreeDSecure *struct {
		Status string `json:"status"`
	} `json:"3DSecure"`
	AvsCvcCheck             *wireAvsCvcCheck `json:"avsCvcCheck"`
	AvsCvsCheck             *wireAvsCvcCheck `json:"avsCvsCheck"`
	ACSURL                  string           `json:"acsUrl"`
	CReq                    string           `json:"cReq"`
	PaReq                   string           `json:"paReq"`
	ACSTransID              string           `json:"acsTransId"`
	DSTransID               string           `json:"dsTransId"`
	SettlementReferenceText string           `json:"settlementReferenceText"`
	AdditionalDeclineDetail *struct {
		Code        flexString `json:"additionalDeclineCode"`
		Description string     `json:"additionalDeclineCodeDescription"`
		Category    flexString `json:"additionalDeclineCodeCategory"`
	} `json:"additionalDeclineDetail"`
}

type wireAvsCvcCheck struct {
	Status       string `json:"status"`
	Address      string `json:"address"`
	PostalCode   string `json:"postalCode"`
	SecurityCode string `json:"securityCode"`
}

type wireAmount struct {
	TotalAmount     flexInt `json:"totalAmount"`
	SaleAmount      flexInt `json:"saleAmount"`
	SurchargeAmount flexInt `json:"surchargeAmount"`
}

// errNoTransaction marks a 2xx body that is not a transaction.
var errNoTransaction = errors.New("body has no transactionId or status")

// parseTransaction reads a Pi transaction body. currency is the request's currency, used to
// convert amounts when the body omits its own (a refund's answer may).
func parseTransaction(body []byte, currency string) (*Transaction, error) {
	var w wireTransaction
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.TransactionID == "" && w.Status == "" {
		return nil, errNoTransaction
	}
	t := &Transaction{
		ID:                      w.TransactionID,
		Type:                    TransactionType(w.TransactionType),
		Status:                  TransactionStatus(w.Status),
		StatusCode:              string(w.StatusCode),
		StatusDetail:            w.StatusDetail,
		RetrievalReference:      string(w.RetrievalReference),
		BankResponseCode:        string(w.BankResponseCode),
		BankAuthorisationCode:   string(w.BankAuthorisationCode),
		Currency:                w.Currency,
		ACSURL:                  w.ACSURL,
		CReq:                    w.CReq,
		PaReq:                   w.PaReq,
		ACSTransID:              w.ACSTransID,
		DSTransID:               w.DSTransID,
		SettlementReferenceText: w.SettlementReferenceText,
	}
	if w.PaymentMethod != nil && w.PaymentMethod.Card != nil {
		c := w.PaymentMethod.Card
		expiry := string(c.ExpiryDate)
		if expiry == "" {
			expiry = string(c.Expiry)
		}
		t.Card = &TransactionCard{CardType: c.CardType, LastFourDigits: string(c.LastFourDigits), ExpiryDate: expiry, CardIdentifier: c.CardIdentifier, Reusable: c.Reusable}
	}
	if w.ThreeDSecure != nil {
		t.ThreeDSecureStatus = w.ThreeDSecure.Status
	}
	avs := w.AvsCvcCheck
	if avs == nil {
		avs = w.AvsCvsCheck
	}
	if avs != nil {
		t.AvsCvcCheck = &AvsCvcCheck{Status: avs.Status, Address: avs.Address, PostalCode: avs.PostalCode, SecurityCode: avs.SecurityCode}
	}
	if d := w.AdditionalDeclineDetail; d != nil {
		t.AdditionalDeclineDetail = &AdditionalDeclineDetail{Code: string(d.Code), Description: d.Description, Category: string(d.Category)}
	}
	cur := w.Currency
	if cur == "" {
		cur = currency
	}
	if err := t.readAmount(w.Amount, cur); err != nil {
		return nil, err
	}
	return t, nil
}

// readAmount accepts the amount object {totalAmount, saleAmount, surchargeAmount} and the bare
// integer the 2017 spec shows for a 201. Amounts are left zero when no currency is known.
func (t *Transaction) readAmount(raw json.RawMessage, currency string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var a wireAmount
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
	} else {
		var n flexInt
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		a.TotalAmount, a.SaleAmount = n, n
	}
	if _, ok := CurrencyExponent(currency); !ok {
		return nil
	}
	t.Amount = Amount{
		Total:     FromMinorUnits(a.TotalAmount.n, currency),
		Sale:      FromMinorUnits(a.SaleAmount.n, currency),
		Surcharge: FromMinorUnits(a.SurchargeAmount.n, currency),
	}
	return nil
}

// CreateTransaction registers a transaction of any type (POST /transactions). The result is:
//   - a *Transaction with HTTPStatus 201 for every outcome Opayo recorded, including the
//     declines NotAuthed and Rejected (check Succeeded or Declined and StatusCode);
//   - a *Transaction with HTTPStatus 202 and Status 3DAuth when the shopper must complete a
//     challenge at ACSURL; finish it with Complete3DSChallenge;
//   - an *Error otherwise. IsDuplicateVendorTxCode means the vendorTxCode was used before: look
//     the first attempt up with GetTransactionDetail(ByVendorTxCode(...)) rather than resend.
func (c *Client) CreateTransaction(ctx context.Context, req TransactionRequest) (*Transaction, error) {
	const op = "CreateTransaction"
	if req == nil {
		return nil, invalidRequest(op, "request is nil")
	}
	w, err := req.wire(op)
	if err != nil {
		return nil, err
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost, path: "/transactions", body: w})
	if err != nil {
		return nil, err
	}
	return transactionAnswer(op, ans, req.AmountCurrency())
}

// GetTransaction retrieves a transaction's current state (GET /transactions/{id}); an unknown
// id is a ClassNotFound error (1012).
func (c *Client) GetTransaction(ctx context.Context, transactionID string) (*Transaction, error) {
	const op = "GetTransaction"
	if transactionID == "" {
		return nil, invalidRequest(op, "transaction id is empty")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodGet, path: "/transactions/" + pathSegment(transactionID)})
	if err != nil {
		return nil, err
	}
	return transactionAnswer(op, ans, "")
}

func transactionAnswer(op string, ans piAnswer, currency string) (*Transaction, error) {
	t, err := parseTransaction(ans.body, currency)
	if err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	t.HTTPStatus = ans.status
	return t, nil
}
