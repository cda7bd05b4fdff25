package opayo_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
)

// These tests run the client against the simulator over real HTTP.

// simStart is a Monday morning in London, so "same day" and "next midnight" are unambiguous.
var simStart = time.Date(2026, 7, 20, 10, 0, 0, 0, mustLondon())

func mustLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}

type simEnv struct {
	client *opayo.Client
	sim    *opayosim.Server
	base   string
}

func newSimEnv(t *testing.T, opts opayosim.Options) simEnv {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = simStart
	}
	sim := opayosim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	c, err := opayo.New(opayo.Config{
		PiURL:               srv.URL + opayosim.PiBasePath,
		IntegrationKey:      opayosim.DefaultIntegrationKey,
		IntegrationPassword: opayosim.DefaultIntegrationPassword,
		Vendor:              opayosim.DefaultVendor,
		ReportingURL:        srv.URL + opayosim.ReportingPath,
		ReportingUser:       opayosim.DefaultReportingUser,
		ReportingPassword:   opayosim.DefaultReportingPassword,
		HTTPClient:          &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return simEnv{client: c, sim: sim, base: srv.URL}
}

const (
	visa        = "4929000000006"
	mastercard  = "5404000000000001"
	declineVisa = "4929602110085639"
	declineMC   = "5403814948608092"
)

// tokenise gets a merchant session key and a card identifier for pan with the sandbox CVV.
func (e simEnv) tokenise(t *testing.T, pan string) (msk, card string) {
	t.Helper()
	ctx := context.Background()
	m, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := e.client.CreateCardIdentifier(ctx, m.Key, opayo.CardDetails{
		CardholderName: "SAM JONES", CardNumber: opayo.Secret(pan), ExpiryDate: "1230", SecurityCode: "123",
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.Key, ci.ID
}

var txSeq struct {
	sync.Mutex
	n int
}

func vendorTxCode(prefix string) string {
	txSeq.Lock()
	defer txSeq.Unlock()
	txSeq.n++
	return fmt.Sprintf("%s-%04d", prefix, txSeq.n)
}

func (e simEnv) payment(t *testing.T, pan string, typ opayo.TransactionType, amount string) opayo.PaymentRequest {
	t.Helper()
	msk, card := e.tokenise(t, pan)
	return opayo.PaymentRequest{
		Type: typ, VendorTxCode: vendorTxCode("pay"), Amount: decimal.RequireFromString(amount), Currency: "GBP",
		Description: "Payhub order", Card: opayo.CardMethod{MerchantSessionKey: msk, CardIdentifier: card},
		CustomerFirstName: "Sam", CustomerLastName: "Jones",
		BillingAddress: opayo.Address{Address1: "88", City: "London", PostalCode: "412", Country: "GB"},
	}
}

func (e simEnv) pay(t *testing.T, pan string, typ opayo.TransactionType, amount string) *opayo.Transaction {
	t.Helper()
	tx, err := e.client.CreateTransaction(context.Background(), e.payment(t, pan, typ, amount))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestSimMerchantSessionKeysAndCardIdentifiers(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	msk, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msk.Key == "" || !msk.Expiry.Equal(simStart.Add(opayosim.MerchantSessionKeyLifetime)) {
		t.Errorf("msk = %+v, want expiry %v", msk, simStart.Add(opayosim.MerchantSessionKeyLifetime))
	}
	if got, err := e.client.CheckMerchantSessionKey(ctx, msk.Key); err != nil || got.Key != msk.Key {
		t.Errorf("check: %+v, %v", got, err)
	}
	if _, err := e.client.CheckMerchantSessionKey(ctx, "00000000-0000-0000-0000-000000000000"); !opayo.IsNotFound(err) {
		t.Errorf("unknown key: %v, want not found", err)
	}

	bad, err := e.client.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{CardholderName: "SAM JONES", CardNumber: "4929000000007", ExpiryDate: "1230", SecurityCode: "123"})
	var oe *opayo.Error
	if !opayo.IsInvalidRequest(err) || !errors.As(err, &oe) || oe.Property != "cardDetails.cardNumber" {
		t.Errorf("Luhn failure: %+v, %v", bad, err)
	}
	if err != nil && strings.Contains(err.Error(), "4929000000007") {
		t.Errorf("error leaks the card number: %v", err)
	}
	ci, err := e.client.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{CardholderName: "SAM JONES", CardNumber: visa, ExpiryDate: "1230", SecurityCode: "123"})
	if err != nil || ci.ID == "" || ci.CardType != "Visa" || ci.Expiry.IsZero() {
		t.Fatalf("card identifier: %+v, %v", ci, err)
	}
	if _, err := e.client.CreateCardIdentifier(ctx, "not-a-key", opayo.CardDetails{CardholderName: "A", CardNumber: visa, ExpiryDate: "1230"}); !opayo.IsNotFound(err) {
		t.Errorf("unknown bearer key: %v", err)
	}
	if err := e.client.DeleteCardIdentifier(ctx, ci.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := e.client.DeleteCardIdentifier(ctx, ci.ID); !opayo.IsNotFound(err) {
		t.Errorf("delete twice: %v, want not found", err)
	}

	wrong, err := opayo.New(opayo.Config{PiURL: e.base + opayosim.PiBasePath, IntegrationKey: opayosim.DefaultIntegrationKey, IntegrationPassword: "wrong", Vendor: opayosim.DefaultVendor})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.CreateMerchantSessionKey(ctx)
	if !opayo.IsConfiguration(err) || !errors.As(err, &oe) || oe.HTTPStatus != 401 || (oe.Code != "1001" && oe.Code != "1002") {
		t.Errorf("bad credentials: %v, want 401 with 1001/1002", err)
	}
}

func TestSimPaymentsApproveAndDeclineAsTransactions(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	cases := []struct {
		pan      string
		cardType string
		status   opayo.TransactionStatus
		code     string
	}{
		{visa, "Visa", opayo.StatusOk, "0000"},
		{mastercard, "MasterCard", opayo.StatusOk, "0000"},
		{declineVisa, "Visa", opayo.StatusNotAuthed, "2000"},
		{declineMC, "MasterCard", opayo.StatusNotAuthed, "2000"},
	}
	for _, tc := range cases {
		t.Run(tc.pan[len(tc.pan)-4:], func(t *testing.T) {
			t.Parallel()
			tx := e.pay(t, tc.pan, opayo.TransactionPayment, "38.40")
			if tx.HTTPStatus != http.StatusCreated || tx.Status != tc.status || tx.StatusCode != tc.code || tx.Type != opayo.TransactionPayment {
				t.Fatalf("transaction = %+v", tx)
			}
			if tx.Card == nil || tx.Card.CardType != tc.cardType || tx.Card.LastFourDigits != tc.pan[len(tc.pan)-4:] || tx.Card.ExpiryDate != "1230" {
				t.Errorf("card = %+v", tx.Card)
			}
			if !tx.Amount.Total.Equal(decimal.RequireFromString("38.40")) || tx.Currency != "GBP" {
				t.Errorf("amount = %+v %s", tx.Amount, tx.Currency)
			}
			if tc.status == opayo.StatusOk {
				if tx.RetrievalReference == "" || tx.BankAuthorisationCode == "" || tx.AvsCvcCheck == nil || tx.AvsCvcCheck.Status != "AllMatched" {
					t.Errorf("approval details = %+v avs %+v", tx, tx.AvsCvcCheck)
				}
			} else if !tx.Declined() || tx.BankResponseCode != "05" {
				t.Errorf("decline details = %+v", tx)
			}
			got, err := e.client.GetTransaction(context.Background(), tx.ID)
			if err != nil || got.ID != tx.ID || got.Status != tx.Status || got.StatusCode != tx.StatusCode || !got.Amount.Total.Equal(tx.Amount.Total) || got.HTTPStatus != 200 {
				t.Errorf("GET = %+v, %v", got, err)
			}
		})
	}
	if _, err := e.client.GetTransaction(context.Background(), "00000000-0000-0000-0000-000000000000"); !opayo.IsNotFound(err) {
		t.Errorf("unknown transaction: %v", err)
	}
}

func TestSimAmountsConvertByCurrencyExponent(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	req := e.payment(t, visa, opayo.TransactionPayment, "1050")
	req.Currency = "JPY"
	tx, err := e.client.CreateTransaction(context.Background(), req)
	if err != nil || tx.Status != opayo.StatusOk || !tx.Amount.Total.Equal(decimal.NewFromInt(1050)) {
		t.Fatalf("JPY payment = %+v, %v", tx, err)
	}
	for _, s := range e.sim.State().Transactions {
		if s.TransactionID == tx.ID && s.AmountMinor != 1050 {
			t.Errorf("simulator holds %d minor units, want 1050", s.AmountMinor)
		}
	}
	gbp := e.payment(t, visa, opayo.TransactionPayment, "10.125")
	if _, err := e.client.CreateTransaction(context.Background(), gbp); !opayo.IsInvalidRequest(err) {
		t.Errorf("three decimals in GBP: %v", err)
	}
}

func TestSimDeferredReleaseAbortAndInstructions(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	d := e.pay(t, visa, opayo.TransactionDeferred, "100.00")
	if d.Status != opayo.StatusOk || d.Type != opayo.TransactionDeferred {
		t.Fatalf("deferred = %+v", d)
	}
	if _, err := e.client.ListInstructions(ctx, d.ID); !opayo.IsNotFound(err) {
		t.Errorf("no instructions yet: %v, want not found (1019)", err)
	}
	in, err := e.client.Release(ctx, d.ID, decimal.RequireFromString("60.00"), "GBP")
	if err != nil || in.Type != opayo.InstructionRelease || !in.Date.Equal(simStart) {
		t.Fatalf("release = %+v, %v", in, err)
	}
	var oe *opayo.Error
	if _, err := e.client.Release(ctx, d.ID, decimal.RequireFromString("10.00"), "GBP"); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1021" {
		t.Errorf("second release: %v, want 1021", err)
	}
	list, err := e.client.ListInstructions(ctx, d.ID)
	if err != nil || len(list) != 1 || list[0].Type != opayo.InstructionRelease {
		t.Errorf("instructions = %+v, %v", list, err)
	}

	over := e.pay(t, visa, opayo.TransactionDeferred, "100.00")
	if _, err := e.client.Release(ctx, over.ID, decimal.RequireFromString("100.01"), "GBP"); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1021" {
		t.Errorf("release over the deferred amount: %v, want 1021", err)
	}
	if _, err := e.client.Abort(ctx, over.ID); err != nil {
		t.Fatalf("abort: %v", err)
	}
	got, err := e.client.GetTransaction(ctx, over.ID)
	if err != nil || got.StatusCode != "2006" {
		t.Errorf("after abort GET = %+v, %v; want statusCode 2006", got, err)
	}
	if _, err := e.client.Abort(ctx, over.ID); !opayo.IsBusiness(err) {
		t.Errorf("abort twice: %v", err)
	}
	pay := e.pay(t, visa, opayo.TransactionPayment, "5.00")
	if _, err := e.client.Abort(ctx, pay.ID); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1013" {
		t.Errorf("abort a payment: %v, want 1013", err)
	}
	if _, err := e.client.Void(ctx, "00000000-0000-0000-0000-000000000000"); !opayo.IsNotFound(err) {
		t.Errorf("void unknown: %v", err)
	}
}

func TestSimVoidOnlyOnTheSameDay(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	today := e.pay(t, visa, opayo.TransactionPayment, "20.00")
	if _, err := e.client.Void(ctx, today.ID); err != nil {
		t.Fatalf("same-day void: %v", err)
	}
	got, err := e.client.GetTransaction(ctx, today.ID)
	if err != nil || got.StatusCode != "2005" || got.RetrievalReference != "0" {
		t.Errorf("after void GET = %+v, %v; want 2005 and retrievalReference 0", got, err)
	}
	yesterday := e.pay(t, visa, opayo.TransactionPayment, "20.00")
	e.sim.Clock().Advance(24 * time.Hour)
	var oe *opayo.Error
	if _, err := e.client.Void(ctx, yesterday.ID); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1014" {
		t.Errorf("next-day void: %v, want 1014", err)
	}
}

func TestSimRefundsUpToTheOriginal(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	pay := e.pay(t, visa, opayo.TransactionPayment, "100.00")
	refund := func(amount string) (*opayo.Transaction, error) {
		return e.client.CreateTransaction(ctx, opayo.RefundRequest{ReferenceTransactionID: pay.ID, VendorTxCode: vendorTxCode("rfd"),
			Amount: decimal.RequireFromString(amount), Currency: "GBP", Description: "Refund"})
	}
	r1, err := refund("60.00")
	if err != nil || r1.Status != opayo.StatusOk || r1.Type != opayo.TransactionRefund || !r1.Amount.Total.Equal(decimal.NewFromInt(60)) {
		t.Fatalf("first refund = %+v, %v", r1, err)
	}
	var oe *opayo.Error
	if _, err := refund("40.01"); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1018" || oe.HTTPStatus != 403 {
		t.Errorf("refund over the original: %v, want 403/1018", err)
	}
	if r, err := refund("40.00"); err != nil || r.Status != opayo.StatusOk {
		t.Errorf("refund of the rest: %+v, %v", r, err)
	}
	if _, err := e.client.CreateTransaction(ctx, opayo.RefundRequest{ReferenceTransactionID: "00000000-0000-0000-0000-000000000000", VendorTxCode: vendorTxCode("rfd"),
		Amount: decimal.NewFromInt(1), Currency: "GBP", Description: "Refund"}); !opayo.IsNotFound(err) {
		t.Errorf("refund of an unknown transaction: %v", err)
	}
}

func TestSimRepeatAuthenticateAuthoriseCancel(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	pay := e.pay(t, visa, opayo.TransactionPayment, "10.00")
	rep, err := e.client.CreateTransaction(ctx, opayo.RepeatRequest{ReferenceTransactionID: pay.ID, VendorTxCode: vendorTxCode("rpt"),
		Amount: decimal.RequireFromString("250.00"), Currency: "GBP", Description: "Repeat"})
	if err != nil || rep.Status != opayo.StatusOk || rep.Type != opayo.TransactionRepeat || !rep.Amount.Total.Equal(decimal.NewFromInt(250)) {
		t.Errorf("repeat = %+v, %v", rep, err)
	}

	auth := e.pay(t, visa, opayo.TransactionAuthenticate, "50.00")
	if !auth.Succeeded() || (auth.Status != opayo.StatusRegistered && auth.Status != opayo.StatusAuthenticated) {
		t.Fatalf("authenticate = %+v", auth)
	}
	az, err := e.client.CreateTransaction(ctx, opayo.AuthoriseRequest{ReferenceTransactionID: auth.ID, VendorTxCode: vendorTxCode("az"),
		Amount: decimal.RequireFromString("50.00"), Currency: "GBP", Description: "Ship"})
	if err != nil || az.Status != opayo.StatusOk || az.Type != opayo.TransactionAuthorise {
		t.Errorf("authorise = %+v, %v", az, err)
	}
	other := e.pay(t, visa, opayo.TransactionAuthenticate, "0")
	if other.Status != opayo.StatusRegistered && other.Status != opayo.StatusAuthenticated {
		t.Errorf("zero-value authenticate = %+v", other)
	}
	if in, err := e.client.Cancel(ctx, other.ID); err != nil || in.Type != opayo.InstructionCancel {
		t.Errorf("cancel = %+v, %v", in, err)
	}
	if _, err := e.client.Cancel(ctx, pay.ID); !opayo.IsBusiness(err) {
		t.Errorf("cancel a payment: %v", err)
	}
}

func TestSimSavedCardLinkSecurityCodeAndDelete(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	first := e.payment(t, visa, opayo.TransactionPayment, "12.00")
	first.Card.Save = true
	first.CredentialType = &opayo.CredentialType{COFUsage: "First", InitiatedType: "CIT"}
	tx, err := e.client.CreateTransaction(ctx, first)
	if err != nil || tx.Status != opayo.StatusOk || tx.Card == nil || !tx.Card.Reusable {
		t.Fatalf("saving payment = %+v, %v", tx, err)
	}
	card := first.Card.CardIdentifier

	msk, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.LinkSecurityCode(ctx, msk.Key, card, "123"); err != nil {
		t.Fatalf("link security code: %v", err)
	}
	again := first
	again.VendorTxCode = vendorTxCode("cof")
	again.Card = opayo.CardMethod{MerchantSessionKey: msk.Key, CardIdentifier: card, Reusable: true}
	again.CredentialType = &opayo.CredentialType{COFUsage: "Subsequent", InitiatedType: "CIT"}
	tx2, err := e.client.CreateTransaction(ctx, again)
	if err != nil || tx2.Status != opayo.StatusOk || tx2.AvsCvcCheck == nil || tx2.AvsCvcCheck.SecurityCode != "Matched" {
		t.Errorf("stored card with linked CV2 = %+v (avs %+v), %v", tx2, tx2.AvsCvcCheck, err)
	}
	resave := again
	resave.VendorTxCode = vendorTxCode("cof")
	resave.Card = opayo.CardMethod{CardIdentifier: card, Reusable: true, Save: true}
	var oe *opayo.Error
	if _, err := e.client.CreateTransaction(ctx, resave); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1020" {
		t.Errorf("saving a reusable card again: %v, want 1020", err)
	}

	if err := e.client.DeleteCardIdentifier(ctx, card); err != nil {
		t.Fatalf("delete: %v", err)
	}
	gone := again
	gone.VendorTxCode = vendorTxCode("cof")
	gone.Card = opayo.CardMethod{CardIdentifier: card, Reusable: true}
	if _, err := e.client.CreateTransaction(ctx, gone); !opayo.IsInvalidRequest(err) {
		t.Errorf("payment with a deleted card: %v, want invalid request (1011)", err)
	}
}

func TestSimDuplicateVendorTxCodeIsLookedUpThroughReporting(t *testing.T) {
	t.Parallel()
	for _, policy := range []struct {
		name   string
		policy opayosim.DuplicatePolicy
		code   string
	}{{"4042", opayosim.DuplicateReject, "4042"}, {"4001", opayosim.DuplicateReject4001, "4001"}} {
		t.Run(policy.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, opayosim.Options{DuplicateVendorTxCode: policy.policy})
			ctx := context.Background()
			req := e.payment(t, visa, opayo.TransactionPayment, "15.00")
			first, err := e.client.CreateTransaction(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			retry := e.payment(t, visa, opayo.TransactionPayment, "15.00")
			retry.VendorTxCode = req.VendorTxCode
			_, err = e.client.CreateTransaction(ctx, retry)
			var oe *opayo.Error
			if !opayo.IsDuplicateVendorTxCode(err) || !errors.Is(err, opayo.ErrDuplicateVendorTxCode) || !errors.As(err, &oe) || oe.Code != policy.code || oe.HTTPStatus != 422 {
				t.Fatalf("duplicate: %v, want 422 %s", err, policy.code)
			}
			d, err := e.client.GetTransactionDetail(ctx, opayo.ByVendorTxCode(req.VendorTxCode))
			if err != nil || !sameTxID(d.VPSTxID, first.ID) || d.TxStateID != opayo.TxStateAuthorised {
				t.Errorf("lookup by vendorTxCode = %+v, %v; want %s", d, err, first.ID)
			}
			if n := len(e.sim.State().Transactions); n != 1 {
				t.Errorf("simulator holds %d transactions", n)
			}
		})
	}
}

// sameTxID compares a Reporting vpstxid ("{GUID}") with a Pi transactionId ("GUID").
func sameTxID(vpsTxID, transactionID string) bool {
	return strings.EqualFold(strings.Trim(vpsTxID, "{}"), strings.Trim(transactionID, "{}"))
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submitACS posts the challenge to the simulated ACS as the shopper's browser would and returns
// the hidden fields of the page that carries the browser back to the notificationURL.
func submitACS(t *testing.T, acsURL, creq, password string) map[string]string {
	t.Helper()
	res, err := http.PostForm(acsURL, url.Values{"creq": {creq}, "threeDSSessionData": {"c2Vzc2lvbi0x"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ACS answered %d: %s", res.StatusCode, page)
	}
	fields := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		fields[m[1]] = html.UnescapeString(m[2])
	}
	return fields
}

func TestSim3DSecureChallenge(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	cases := []struct {
		password  string
		status    opayo.TransactionStatus
		code      string
		threeDS   string
		succeeded bool
	}{
		{"password", opayo.StatusOk, "0000", "Authenticated", true},
		{"wrong", opayo.StatusRejected, "4026", "NotAuthenticated", false},
	}
	for _, tc := range cases {
		req := e.payment(t, visa, opayo.TransactionPayment, "75.00")
		req.Apply3DSecure = opayo.CheckForce
		req.StrongCustomerAuthentication = &opayo.StrongCustomerAuthentication{
			NotificationURL: "https://shop.example/3ds-return", BrowserIP: "203.0.113.7", BrowserAcceptHeader: "text/html",
			BrowserJavascriptEnabled: true, BrowserLanguage: "en-GB", BrowserUserAgent: "Mozilla/5.0", ChallengeWindowSize: "Small",
			TransType: "GoodsAndServicePurchase", BrowserColorDepth: "24", BrowserScreenHeight: "1080", BrowserScreenWidth: "1920", BrowserTZ: "0",
		}
		tx, err := e.client.CreateTransaction(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if tx.HTTPStatus != http.StatusAccepted || !tx.NeedsChallenge() || tx.StatusCode != "2021" || tx.ACSURL != e.base+opayosim.ACSPath || tx.CReq == "" || tx.ID == "" {
			t.Fatalf("challenge = %+v", tx)
		}
		fields := submitACS(t, tx.ACSURL, tx.CReq, tc.password)
		if fields["cres"] == "" || fields["threeDSSessionData"] != "c2Vzc2lvbi0x" {
			t.Fatalf("ACS return page fields = %v", fields)
		}
		done, err := e.client.Complete3DSChallenge(ctx, tx.ID, fields["cres"])
		if err != nil {
			t.Fatalf("%s: complete: %v", tc.password, err)
		}
		if done.Status != tc.status || done.StatusCode != tc.code || done.ThreeDSecureStatus != tc.threeDS || done.Succeeded() != tc.succeeded || done.ID != tx.ID {
			t.Errorf("%s: completed = %+v", tc.password, done)
		}
		var oe *opayo.Error
		if _, err := e.client.Complete3DSChallenge(ctx, tx.ID, fields["cres"]); !opayo.IsBusiness(err) || !errors.As(err, &oe) || oe.Code != "1017" {
			t.Errorf("%s: second submit: %v, want 1017", tc.password, err)
		}
		if got, err := e.client.GetTransaction(ctx, tx.ID); err != nil || got.Status != tc.status {
			t.Errorf("%s: GET after 3DS = %+v, %v", tc.password, got, err)
		}
	}
}

func TestSimReportingDetailListAndSettlement(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	var ids []string
	for i := 0; i < 53; i++ {
		ids = append(ids, e.pay(t, visa, opayo.TransactionPayment, "10.50").ID)
	}
	declined := e.pay(t, declineVisa, opayo.TransactionPayment, "3.00")

	d, err := e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !sameTxID(d.VPSTxID, ids[0]) || d.TxStateID != opayo.TxStateAuthorised || d.TransactionType != "Payment" || !d.Amount.Equal(decimal.RequireFromString("10.50")) ||
		d.Currency != "GBP" || !d.Started.Equal(simStart) || d.SecurityKey == "" || d.BatchID != "" || d.Last4Digits != "0006" || d.Refunded {
		t.Errorf("detail = %+v", d)
	}
	if dd, err := e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(declined.ID)); err != nil || dd.TxStateID != opayo.TxStateDeclined {
		t.Errorf("declined detail = %+v, %v", dd, err)
	}
	if _, err := e.client.GetTransactionDetail(ctx, opayo.ByVendorTxCode("never-sent")); !opayo.IsNotFound(err) {
		t.Errorf("unknown vendorTxCode: %v, want not found (0043)", err)
	}

	// Two months back to now: the client splits the range into month windows and pages by 50.
	var rows []opayo.TransactionSummary
	err = e.client.GetTransactionList(ctx, opayo.TransactionListQuery{Start: simStart.AddDate(0, -2, 0), End: simStart.Add(time.Hour)},
		func(s opayo.TransactionSummary) error { rows = append(rows, s); return nil })
	if err != nil || len(rows) != 54 {
		t.Fatalf("list: %d rows, %v", len(rows), err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[strings.Trim(r.VPSTxID, "{}")] = true
	}
	if !seen[ids[52]] || !seen[declined.ID] || len(seen) != 54 {
		t.Errorf("list missed rows: %d distinct", len(seen))
	}

	// Settlement at the next London midnight.
	e.sim.Clock().Advance(24 * time.Hour)
	batches, err := e.client.GetBatchList(ctx, simStart, simStart.Add(48*time.Hour))
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches = %+v, %v", batches, err)
	}
	b := batches[0]
	if b.ID == "" || b.AuthProcessor == "" || b.Completed.IsZero() || len(b.Groups) != 1 || b.Groups[0].Currency != "GBP" ||
		b.Groups[0].PaymentNumber != 53 || !b.Groups[0].PaymentValue.Equal(decimal.RequireFromString("556.50")) || !b.Groups[0].Net().Equal(decimal.RequireFromString("556.50")) {
		t.Errorf("batch = %+v", b)
	}
	var settled []opayo.TransactionSummary
	if err := e.client.GetBatchDetail(ctx, b.ID, b.AuthProcessor, func(s opayo.TransactionSummary) error { settled = append(settled, s); return nil }); err != nil || len(settled) != 53 {
		t.Errorf("batch detail: %d rows, %v", len(settled), err)
	}
	d, err = e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(ids[0]))
	if err != nil || d.BatchID != b.ID {
		t.Errorf("detail after settlement: batch %q, %v; want %s", d.BatchID, err, b.ID)
	}

	bad, err := opayo.New(opayo.Config{ReportingURL: e.base + opayosim.ReportingPath, Vendor: opayosim.DefaultVendor, ReportingUser: opayosim.DefaultReportingUser, ReportingPassword: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	var oe *opayo.Error
	if _, err := bad.GetTransactionDetail(ctx, opayo.ByVPSTxID(ids[0])); !opayo.IsConfiguration(err) || !errors.As(err, &oe) || oe.Code != "0010" {
		t.Errorf("bad reporting password: %v, want 0010", err)
	}
}

func TestSimFaultsAreTransient(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{FaultSeed: 7})
	ctx := context.Background()
	e.sim.SetFaults(opayosim.Faults{ErrorRate: 1})
	if _, err := e.client.CreateMerchantSessionKey(ctx); !opayo.IsTransient(err) {
		t.Errorf("Pi under faults: %v", err)
	}
	if _, err := e.client.GetTransactionDetail(ctx, opayo.ByVendorTxCode("x")); !opayo.IsTransient(err) {
		t.Errorf("Reporting under faults: %v", err)
	}
	if _, err := e.client.RegisterServerTransaction(ctx, serverRequest("https://shop.example/notify", vendorTxCode("srv"))); !opayo.IsTransient(err) {
		t.Errorf("Server registration under faults: %v", err)
	}

	e.sim.SetFaults(opayosim.Faults{TimeoutRate: 1})
	impatient, err := opayo.New(opayo.Config{PiURL: e.base + opayosim.PiBasePath, IntegrationKey: opayosim.DefaultIntegrationKey,
		IntegrationPassword: opayosim.DefaultIntegrationPassword, Vendor: opayosim.DefaultVendor, HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impatient.CreateMerchantSessionKey(ctx); !opayo.IsTransient(err) {
		t.Errorf("timeout: %v", err)
	}
	e.sim.SetFaults(opayosim.Faults{})
	if _, err := e.client.CreateMerchantSessionKey(ctx); err != nil {
		t.Errorf("after faults: %v", err)
	}
}

func serverRequest(notificationURL, code string) opayo.ServerRegistrationRequest {
	return opayo.ServerRegistrationRequest{
		VendorTxCode: code, Amount: decimal.RequireFromString("42.00"), Currency: "GBP", Description: "Server order",
		NotificationURL: notificationURL,
		Billing:         opayo.ServerAddress{Surname: "Jones", Firstnames: "Sam", Address1: "88", City: "London", PostCode: "412", Country: "GB"},
		CustomerEMail:   "sam@example.com",
	}
}

// notificationHandler is the merchant's NotificationURL: it verifies each notification with the
// SecurityKey stored at registration and the one Reporting returns, and replies.
type notificationHandler struct {
	t        *testing.T
	client   *opayo.Client
	redirect string

	mu       sync.Mutex
	keys     map[string]string // VPSTxId → SecurityKey from registration
	received []url.Values
	verified []opayo.Notification
}

func (h *notificationHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	h.mu.Lock()
	h.received = append(h.received, form)
	h.mu.Unlock()
	n, err := opayo.ParseNotificationBody(body)
	if err != nil {
		_ = opayo.WriteNotificationReply(w, opayo.Reply{Status: opayo.ReplyInvalid, RedirectURL: h.redirect + "?r=malformed", StatusDetail: "Malformed notification"})
		return
	}
	h.mu.Lock()
	key := h.keys[n.VPSTxID]
	h.mu.Unlock()
	if err := n.Verify(key, opayosim.DefaultVendor); err != nil {
		_ = opayo.WriteNotificationReply(w, opayo.Reply{Status: opayo.ReplyInvalid, RedirectURL: h.redirect + "?r=invalid", StatusDetail: "Signature mismatch"})
		return
	}
	// The key Reporting returns verifies the same notification.
	d, err := h.client.GetTransactionDetail(r.Context(), opayo.ByVPSTxID(n.VPSTxID))
	if err != nil {
		h.t.Errorf("reporting lookup of %s: %v", n.VPSTxID, err)
		_ = opayo.WriteNotificationReply(w, opayo.Reply{Status: opayo.ReplyError, RedirectURL: h.redirect + "?r=error"})
		return
	}
	if err := n.Verify(string(d.SecurityKey), opayosim.DefaultVendor); err != nil {
		h.t.Errorf("verify with the Reporting security key: %v", err)
	}
	h.mu.Lock()
	h.verified = append(h.verified, n)
	h.mu.Unlock()
	_ = opayo.WriteNotificationReply(w, opayo.Reply{Status: opayo.ReplyOK, RedirectURL: h.redirect + "?r=ok&tx=" + url.QueryEscape(n.VendorTxCode)})
}

// payOnCardPage posts the shopper's card to NextURL and returns the simulator's answer without
// following its redirect.
func payOnCardPage(t *testing.T, nextURL, pan string) *http.Response {
	t.Helper()
	noFollow := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.PostForm(nextURL, url.Values{"CardHolder": {"SAM JONES"}, "CardNumber": {pan}, "ExpiryDate": {"1230"}, "CV2": {"123"}, "action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestSimServerProtocolRoundTrip(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	h := &notificationHandler{t: t, client: e.client, redirect: "https://shop.example/opayo/return", keys: map[string]string{}}
	notify := httptest.NewServer(h)
	t.Cleanup(notify.Close)

	cases := []struct {
		pan    string
		status string
		state  opayo.TxState
	}{
		{visa, "OK", opayo.TxStateAuthorised},
		{declineVisa, "NOTAUTHED", opayo.TxStateDeclined},
	}
	for i, tc := range cases {
		code := vendorTxCode("srv")
		reg, err := e.client.RegisterServerTransaction(ctx, serverRequest(notify.URL+"/notify", code))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		wantNext := e.base + opayosim.CardSelectionPath + "?vpstxid=" + reg.VPSTxID
		if reg.Status != "OK" || reg.Repeated || reg.SecurityKey == "" || !strings.HasPrefix(reg.VPSTxID, "{") || reg.NextURL != wantNext {
			t.Fatalf("registration = %+v, want NextURL %s", reg, wantNext)
		}
		h.mu.Lock()
		h.keys[reg.VPSTxID] = string(reg.SecurityKey)
		h.mu.Unlock()

		detail, err := e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(reg.VPSTxID))
		if err != nil || detail.SecurityKey != reg.SecurityKey || detail.VendorTxCode != code {
			t.Fatalf("reporting before payment = %+v, %v", detail, err)
		}

		res := payOnCardPage(t, reg.NextURL, tc.pan)
		wantRedirect := h.redirect + "?r=ok&tx=" + code
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != wantRedirect {
			t.Fatalf("card page answered %d to %q, want 302 to %q", res.StatusCode, res.Header.Get("Location"), wantRedirect)
		}

		h.mu.Lock()
		n := h.verified[len(h.verified)-1]
		h.mu.Unlock()
		if n.VPSTxID != reg.VPSTxID || n.VendorTxCode != code || n.Status != tc.status || n.VPSProtocol != opayo.ServerProtocolVersion || n.TxType != "PAYMENT" {
			t.Errorf("notification = %+v", n)
		}

		snap := e.sim.State()
		if len(snap.Notifications) != i+1 {
			t.Fatalf("simulator recorded %d notifications", len(snap.Notifications))
		}
		nd := snap.Notifications[i]
		if nd.State != opayosim.DeliveryDelivered || nd.ReplyStatus != "OK" || nd.RedirectURL != wantRedirect || len(nd.Attempts) != 1 || !nd.Attempts[0].Accepted {
			t.Errorf("simulator delivery = %+v", nd)
		}
		after, err := e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(reg.VPSTxID))
		if err != nil || after.TxStateID != tc.state {
			t.Errorf("after notification: %+v, %v; want txstateid %d", after, err, tc.state)
		}
	}

	// A forged notification: the genuine one with its outcome changed, and one signed with a
	// guessed key. Both must fail verification and be refused with INVALID.
	h.mu.Lock()
	genuine := h.received[0]
	key := h.keys[genuine.Get("VPSTxId")]
	h.mu.Unlock()
	tampered := cloneForm(genuine)
	tampered.Set("Status", "OK")
	tampered.Set("VPSTxId", h.received[1].Get("VPSTxId"))
	tampered.Set("VendorTxCode", h.received[1].Get("VendorTxCode"))
	guessed := cloneForm(genuine)
	guessed.Set("Last4Digits", "9999")
	for name, forged := range map[string]url.Values{"swapped transaction": tampered, "tampered field": guessed} {
		n, err := opayo.ParseNotification(forged)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Verify(key, opayosim.DefaultVendor); !errors.Is(err, opayo.ErrSignatureMismatch) {
			t.Errorf("%s: Verify = %v", name, err)
		}
		res, err := http.PostForm(notify.URL+"/notify", forged)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		reply, err := opayo.ParseLegacyResponse(body)
		if err != nil || reply.Status != "INVALID" || reply.RedirectURL == "" {
			t.Errorf("%s: reply %q, %v", name, body, err)
		}
	}
	n, _ := opayo.ParseNotification(genuine)
	if err := n.Verify("WRONGKEY00", opayosim.DefaultVendor); !errors.Is(err, opayo.ErrSignatureMismatch) {
		t.Errorf("wrong security key: %v", err)
	}
}

func TestSimServerNotificationRefusedCancelsTheTransaction(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{NotificationRetry: opayosim.RetryPolicy{Count: -1}})
	ctx := context.Background()
	// This merchant holds the wrong key, so every genuine notification fails verification.
	h := &notificationHandler{t: t, client: e.client, redirect: "https://shop.example/opayo/return", keys: map[string]string{}}
	notify := httptest.NewServer(h)
	t.Cleanup(notify.Close)
	reg, err := e.client.RegisterServerTransaction(ctx, serverRequest(notify.URL+"/notify", vendorTxCode("srv")))
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.keys[reg.VPSTxID] = "NOTTHEKEY0"
	h.mu.Unlock()
	res := payOnCardPage(t, reg.NextURL, visa)
	if res.StatusCode != http.StatusFound || !strings.Contains(res.Header.Get("Location"), "r=invalid") {
		t.Errorf("card page answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	nd := e.sim.State().Notifications[0]
	if nd.State != opayosim.DeliveryDelivered || nd.ReplyStatus != "INVALID" {
		t.Errorf("delivery = %+v", nd)
	}
	d, err := e.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(reg.VPSTxID))
	if err != nil || d.TxStateID == opayo.TxStateAuthorised {
		t.Errorf("refused notification left the transaction %+v, %v", d, err)
	}
}

func TestSimServerRegistrationReplies(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	code := vendorTxCode("srv")
	first, err := e.client.RegisterServerTransaction(ctx, serverRequest("https://shop.example/notify", code))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.RegisterServerTransaction(ctx, serverRequest("https://shop.example/notify", code))
	if err != nil || !again.Repeated || again.Status != "OK REPEATED" || again.StatusCode != "4042" || again.VPSTxID != first.VPSTxID || again.SecurityKey != first.SecurityKey {
		t.Errorf("re-registration = %+v, %v", again, err)
	}
	long := serverRequest("https://shop.example/notify", vendorTxCode("srv"))
	long.Description = strings.Repeat("d", 101)
	var oe *opayo.Error
	if _, err := e.client.RegisterServerTransaction(ctx, long); !opayo.IsInvalidRequest(err) || !errors.As(err, &oe) || oe.Code != "3082" || oe.Status != "INVALID" {
		t.Errorf("long description: %v, want INVALID 3082", err)
	}
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestSimMerchantSessionKeyLifetimeRules(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{})
	ctx := context.Background()
	good := opayo.CardDetails{CardholderName: "SAM JONES", CardNumber: visa, ExpiryDate: "1230", SecurityCode: "123"}
	bad := opayo.CardDetails{CardholderName: "SAM JONES", CardNumber: "4929000000007", ExpiryDate: "1230"}

	// One successful card identifier per key (opayo.md §2.2).
	once, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateCardIdentifier(ctx, once.Key, good); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateCardIdentifier(ctx, once.Key, good); !opayo.IsNotFound(err) {
		t.Errorf("second card identifier on one key: %v, want not found (401/1002 on a used key)", err)
	}

	// Three failed attempts remove the key.
	failing, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < opayosim.MerchantSessionKeyMaxFailures; i++ {
		if _, err := e.client.CreateCardIdentifier(ctx, failing.Key, bad); !opayo.IsInvalidRequest(err) {
			t.Errorf("failed attempt %d: %v", i+1, err)
		}
	}
	if _, err := e.client.CreateCardIdentifier(ctx, failing.Key, good); !opayo.IsNotFound(err) {
		t.Errorf("card identifier after three failures: %v, want not found", err)
	}
	if _, err := e.client.CheckMerchantSessionKey(ctx, failing.Key); !opayo.IsNotFound(err) {
		t.Errorf("key after three failures: %v, want not found", err)
	}

	// 400 seconds of life.
	msk, err := e.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Clock().Advance(opayosim.MerchantSessionKeyLifetime + time.Second)
	if _, err := e.client.CheckMerchantSessionKey(ctx, msk.Key); !opayo.IsNotFound(err) {
		t.Errorf("expired key: %v, want not found", err)
	}
	if _, err := e.client.CreateCardIdentifier(ctx, msk.Key, good); !opayo.IsNotFound(err) {
		t.Errorf("card identifier with an expired key: %v, want not found", err)
	}
}

// flakyHandler fails the first notification POST with HTTP 500, then delegates.
type flakyHandler struct {
	mu     sync.Mutex
	failed int
	next   http.Handler
}

func (f *flakyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fail := f.failed == 0
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	if fail {
		http.Error(w, "database unavailable", http.StatusInternalServerError)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestSimServerNotificationIsRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, opayosim.Options{NotificationRetry: opayosim.RetryPolicy{First: 30 * time.Second, Interval: time.Minute, Count: 2}})
	ctx := context.Background()
	h := &notificationHandler{t: t, client: e.client, redirect: "https://shop.example/opayo/return", keys: map[string]string{}}
	notify := httptest.NewServer(&flakyHandler{next: h})
	t.Cleanup(notify.Close)
	reg, err := e.client.RegisterServerTransaction(ctx, serverRequest(notify.URL+"/notify", vendorTxCode("srv")))
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.keys[reg.VPSTxID] = string(reg.SecurityKey)
	h.mu.Unlock()
	if res := payOnCardPage(t, reg.NextURL, visa); res.StatusCode == http.StatusFound {
		t.Errorf("shopper redirected although the first notification failed")
	}
	if nd := e.sim.State().Notifications[0]; nd.State != opayosim.DeliveryPending || len(nd.Attempts) != 1 || nd.Attempts[0].Accepted {
		t.Fatalf("after the failed attempt: %+v", nd)
	}
	e.sim.Clock().Advance(30 * time.Second)
	nd := e.sim.State().Notifications[0]
	if nd.State != opayosim.DeliveryDelivered || len(nd.Attempts) != 2 || !nd.Attempts[1].Accepted || nd.ReplyStatus != "OK" {
		t.Errorf("after the retry: %+v", nd)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.verified) != 1 {
		t.Errorf("verified %d notifications, want 1", len(h.verified))
	}
}
