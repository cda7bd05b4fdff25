package cybersource_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
)

// These tests run the client against the simulator over real HTTP, in both auth modes.

var authModes = []string{cybersource.AuthHTTPSignature, cybersource.AuthJWT}

// simStart is a fixed simulator start, mid-afternoon, so the 00:00 UTC cut-off is a known time.
var simStart = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

type simEnv struct {
	c *cybersource.Client
	// query is the client for GETs with a query string (reporting, paged TMS lists): c in HTTP
	// Signature mode, an HTTP Signature client in JWT mode, because the simulator refuses the
	// SDK's JWT for such requests (TestSimJWTQueryRequests isolates that mismatch).
	query *cybersource.Client
	sim   *cybersourcesim.Server
	url   string
}

func newSimEnv(t *testing.T, auth string, opts cybersourcesim.Options) simEnv {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = simStart
	}
	sim := cybersourcesim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	cfg := cybersource.Config{
		BaseURL: srv.URL, MerchantID: cybersourcesim.DefaultMerchantID, KeyID: cybersourcesim.DefaultKeyID,
		Secret: cybersourcesim.DefaultSecret, Auth: auth, Now: sim.Clock().Now,
	}
	c, err := cybersource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = cybersource.AuthHTTPSignature
	q, err := cybersource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return simEnv{c: c, query: q, sim: sim, url: srv.URL}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func billTo(email, postal string) *cybersource.Address {
	return &cybersource.Address{FirstName: "John", LastName: "Doe", Address1: "1 Market St", Locality: "san francisco",
		AdministrativeArea: "CA", PostalCode: postal, Country: "US", Email: email}
}

func cardPayment(ref, pan, amount string) cybersource.PaymentRequest {
	return cybersource.PaymentRequest{
		Reference: ref,
		Card:      &cybersource.Card{Number: pan, ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		Amount:    dec(amount), Currency: "USD", BillTo: billTo("test@cybs.com", "94105"),
	}
}

func mustPay(t *testing.T, c *cybersource.Client, p cybersource.PaymentRequest) *cybersource.PaymentResult {
	t.Helper()
	res, err := c.CreatePayment(t.Context(), p)
	if err != nil {
		t.Fatalf("CreatePayment %s: %v", p.Reference, err)
	}
	return res
}

func wantErr(t *testing.T, err error, class cybersource.Class, status int, reason string) *cybersource.Error {
	t.Helper()
	var e *cybersource.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want %v %d %s", err, class, status, reason)
	}
	if e.Class != class || e.HTTPStatus != status || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v (class %v), want %v %d %s", err, e.Class, class, status, reason)
	}
	return e
}

func TestSimAuthorizeCaptureRefundAndSettle(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()

			auth1 := mustPay(t, env.c, cardPayment("SO-1001", "4111111111111111", "102.21"))
			if auth1.Status != cybersource.StatusAuthorized || len(auth1.ID) != 22 || auth1.Links.Href("capture") == "" ||
				!auth1.OrderInformation.AmountDetails.AuthorizedAmount.Equal(dec("102.21")) || auth1.ReconciliationID == "" ||
				auth1.SubmitTimeUTC == "" || auth1.ProcessorInformation.ApprovalCode == "" || auth1.ProcessorInformation.AVS.Code == "" {
				t.Fatalf("authorization %+v", auth1)
			}
			got, err := env.c.GetTransaction(ctx, auth1.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != auth1.ID || got.ClientReferenceInformation.Code != "SO-1001" {
				t.Errorf("transaction %+v", got)
			}
			if _, ok := got.ApplicationInformation.Application("ics_auth"); !ok {
				t.Errorf("no ics_auth application: %+v", got.ApplicationInformation)
			}

			capture, err := env.c.Capture(ctx, auth1.ID, cybersource.CaptureRequest{Reference: "SO-1001-C", Amount: dec("102.21"), Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			if capture.Status != cybersource.StatusPending || capture.ID == "" {
				t.Fatalf("capture %+v", capture)
			}
			_, err = env.c.Capture(ctx, auth1.ID, cybersource.CaptureRequest{Reference: "SO-1001-C2", Amount: dec("1"), Currency: "USD"})
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "EXCEEDS_AUTH_AMOUNT")

			refund, err := env.c.RefundCapture(ctx, capture.ID, cybersource.RefundRequest{Reference: "SO-1001-R", Amount: dec("2.21"), Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			if amount, cur := refund.Amount(); refund.Status != cybersource.StatusPending || !amount.Equal(dec("2.21")) || cur != "USD" {
				t.Fatalf("refund %+v", refund)
			}
			_, err = env.c.RefundCapture(ctx, capture.ID, cybersource.RefundRequest{Reference: "SO-1001-R2", Amount: dec("100.01"), Currency: "USD"})
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "")

			env.sim.Clock().Advance(24 * time.Hour)

			_, err = env.c.Void(ctx, cybersource.VoidCapture, capture.ID, "SO-1001-V")
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "NOT_VOIDABLE")

			day := simStart.Truncate(24 * time.Hour)
			rc, err := env.query.DownloadReport(ctx, cybersource.ReportDownload{OrganizationID: cybersourcesim.DefaultMerchantID, ReportDate: day,
				ReportName: cybersource.ReportNamePaymentBatchDetail})
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			r := cybersource.NewBatchDetailReader(rc)
			rows := map[string]cybersource.BatchDetailRecord{}
			for r.Next() {
				rows[r.Record().RequestID] = r.Record()
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if c := rows[capture.ID]; c.TransactionType != cybersource.TransactionTypeCapture || !c.Amount.Equal(dec("102.21")) || c.MerchantRefNumber != "SO-1001-C" {
				t.Errorf("capture row %+v", c)
			}
			if rf := rows[refund.ID]; rf.TransactionType != cybersource.TransactionTypeRefund || !rf.Amount.Equal(dec("-2.21")) {
				t.Errorf("refund row %+v", rf)
			}
			_, err = env.query.DownloadReport(ctx, cybersource.ReportDownload{ReportDate: day.AddDate(0, 0, 5), ReportName: cybersource.ReportNamePaymentBatchDetail})
			wantErr(t, err, cybersource.ClassNotFound, 404, "")

			window := cybersource.ReportWindow{Start: day, End: day.Add(48 * time.Hour), OrganizationID: cybersourcesim.DefaultMerchantID}
			sums, err := env.query.PaymentBatchSummaries(ctx, window, "", "")
			if err != nil {
				t.Fatal(err)
			}
			var sales, credits decimal.Decimal
			for _, s := range sums.Summaries {
				sales, credits = sales.Add(s.SalesAmount), credits.Add(s.CreditAmount)
			}
			if !sales.Equal(dec("102.21")) || !credits.Abs().Equal(dec("2.21")) {
				t.Errorf("batch summaries %+v", sums)
			}
			nf, err := env.query.NetFundings(ctx, window, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(nf.Summaries) == 0 || len(nf.TotalPurchases) == 0 || !nf.TotalPurchases[0].Value.Equal(dec("102.21")) {
				t.Errorf("net fundings %+v", nf)
			}
		})
	}
}

func TestSimSaleRefundAndVoids(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			sale := cardPayment("SO-2001", "5555555555554444", "50.00")
			sale.Capture = true
			res := mustPay(t, env.c, sale)
			if res.Status != cybersource.StatusAuthorized {
				t.Fatalf("sale %+v", res)
			}
			refund, err := env.c.RefundPayment(ctx, res.ID, cybersource.RefundRequest{Reference: "SO-2001-R", Amount: dec("10"), Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			voidRefund, err := env.c.Void(ctx, cybersource.VoidRefund, refund.ID, "SO-2001-VR")
			if err != nil || voidRefund.Status != cybersource.StatusVoided {
				t.Fatalf("void refund %+v %v", voidRefund, err)
			}
			voidSale, err := env.c.Void(ctx, cybersource.VoidPayment, res.ID, "SO-2001-VS")
			if err != nil || voidSale.Status != cybersource.StatusVoided {
				t.Fatalf("void sale %+v %v", voidSale, err)
			}

			amex := cardPayment("SO-2002", "378282246310005", "20.00")
			amex.Card.SecurityCode = "1234"
			auth2 := mustPay(t, env.c, amex)
			capture, err := env.c.Capture(ctx, auth2.ID, cybersource.CaptureRequest{Reference: "SO-2002-C", Amount: dec("20"), Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			voidCapture, err := env.c.Void(ctx, cybersource.VoidCapture, capture.ID, "SO-2002-V")
			if err != nil || voidCapture.Status != cybersource.StatusVoided {
				t.Fatalf("void capture %+v %v", voidCapture, err)
			}
			_, err = env.c.Void(ctx, cybersource.VoidCredit, "9999999999999999999999", "X")
			wantErr(t, err, cybersource.ClassNotFound, 404, "")
		})
	}
}

func TestSimReversalsAndTimeoutRecovery(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			a := mustPay(t, env.c, cardPayment("SO-3001", "4111111111111111", "30.00"))
			rev, err := env.c.Reverse(ctx, a.ID, cybersource.ReversalRequest{Reference: "SO-3001", Amount: dec("30"), Currency: "USD", Reason: "cancelled"})
			if err != nil || rev.Status != cybersource.StatusReversed {
				t.Fatalf("reversal %+v %v", rev, err)
			}
			_, err = env.c.Reverse(ctx, a.ID, cybersource.ReversalRequest{Reference: "SO-3001", Amount: dec("30"), Currency: "USD"})
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "AUTH_ALREADY_REVERSED")

			// Timeout reversal and void: the merchant knows only its transactionId.
			p := cardPayment("SO-3002", "4111111111111111", "31.00")
			p.TransactionID = "MTI-3002"
			mustPay(t, env.c, p)
			trev, err := env.c.TimeoutReversal(ctx, "MTI-3002", cybersource.ReversalRequest{Reference: "SO-3002", Amount: dec("31"), Currency: "USD", Reason: "timeout"})
			if err != nil || trev.Status != cybersource.StatusReversed {
				t.Fatalf("timeout reversal %+v %v", trev, err)
			}
			s := cardPayment("SO-3003", "4111111111111111", "32.00")
			s.Capture, s.TransactionID = true, "MTI-3003"
			mustPay(t, env.c, s)
			tvoid, err := env.c.TimeoutVoid(ctx, "SO-3003", "MTI-3003")
			if err != nil || tvoid.Status != cybersource.StatusVoided {
				t.Fatalf("timeout void %+v %v", tvoid, err)
			}
		})
	}
}

func TestSimDeclinesAndReviewsAreResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		edit           func(p *cybersource.PaymentRequest)
		status, reason string
	}{
		{"approved visa", func(*cybersource.PaymentRequest) {}, cybersource.StatusAuthorized, ""},
		{"processor declined", func(p *cybersource.PaymentRequest) { p.Card.Number = "4000000000000002" }, cybersource.StatusDeclined, "PROCESSOR_DECLINED"},
		{"insufficient funds", func(p *cybersource.PaymentRequest) { p.Card.Number = "4000000000009995" }, cybersource.StatusDeclined, "INSUFFICIENT_FUND"},
		{"expired card", func(p *cybersource.PaymentRequest) { p.Card.ExpirationYear = "2020"; p.Card.ExpirationMonth = "01" }, cybersource.StatusDeclined, "EXPIRED_CARD"},
		{"CVN failed", func(p *cybersource.PaymentRequest) { p.Card.SecurityCode = "999" }, cybersource.StatusAuthorizedPendingReview, "CV_FAILED"},
		{"AVS failed", func(p *cybersource.PaymentRequest) { p.BillTo.PostalCode = "99999" }, cybersource.StatusAuthorizedPendingReview, "AVS_FAILED"},
		{"DM review", func(p *cybersource.PaymentRequest) { p.BillTo.Email = "review@example.com" }, cybersource.StatusAuthorizedPendingReview, "DECISION_PROFILE_REVIEW"},
		{"DM reject", func(p *cybersource.PaymentRequest) { p.BillTo.Email = "reject@example.com" }, cybersource.StatusAuthorizedRiskDeclined, "DECISION_PROFILE_REJECT"},
	}
	for _, auth := range authModes {
		env := newSimEnv(t, auth, cybersourcesim.Options{})
		for i, tt := range tests {
			t.Run(auth+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				p := cardPayment(fmt.Sprintf("DECL-%d", i), "4111111111111111", "10.00")
				tt.edit(&p)
				res, err := env.c.CreatePayment(t.Context(), p)
				if err != nil {
					t.Fatalf("a 201 must not be an error: %v", err)
				}
				if res.Status != tt.status || res.Reason() != tt.reason || res.ID == "" {
					t.Fatalf("status %s reason %s id %q, want %s %s", res.Status, res.Reason(), res.ID, tt.status, tt.reason)
				}
				if res.Declined() != (res.Err() != nil) || (res.Declined() && !cybersource.IsBusiness(res.Err())) {
					t.Errorf("Declined %v Err %v", res.Declined(), res.Err())
				}
				if tt.status == cybersource.StatusAuthorizedRiskDeclined && !res.NeedsReversal() {
					t.Error("a risk-declined authorization must ask for a reversal")
				}
				if tt.status == cybersource.StatusAuthorizedPendingReview && !res.PendingReview() {
					t.Error("not pending review")
				}
			})
		}
	}
}

func TestSimErrorShapes(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()

			missing := cardPayment("ERR-1", "4111111111111111", "10.00")
			missing.BillTo.Country = ""
			_, err := env.c.CreatePayment(ctx, missing)
			e := wantErr(t, err, cybersource.ClassInvalidRequest, 400, "MISSING_FIELD")
			if e.Status != "INVALID_REQUEST" || e.Message == "" || len(e.Details) == 0 || e.Details[0].Field != "orderInformation.billTo.country" {
				t.Errorf("missing field error %+v", e)
			}
			if cybersource.OutcomeUnknown(err) {
				t.Error("a 400 has a known outcome")
			}

			mustPay(t, env.c, cardPayment("ERR-2", "4111111111111111", "10.00"))
			_, err = env.c.CreatePayment(ctx, cardPayment("ERR-2", "4111111111111111", "10.00"))
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "DUPLICATE_REQUEST")
			if !cybersource.IsDuplicate(err) {
				t.Error("IsDuplicate is false")
			}

			_, err = env.c.CreatePayment(ctx, cardPayment("ERR-3", "4000000000000267", "10.00"))
			e = wantErr(t, err, cybersource.ClassTransient, 502, "SYSTEM_ERROR")
			if e.Status != "SERVER_ERROR" || !cybersource.OutcomeUnknown(err) {
				t.Errorf("system error %+v", e)
			}
			if found, err := env.c.FindByReference(ctx, "ERR-3"); err != nil || len(found) != 0 {
				t.Errorf("SYSTEM_ERROR created %d transactions (%v)", len(found), err)
			}

			_, err = env.c.GetTransaction(ctx, "0000000000000000000000")
			wantErr(t, err, cybersource.ClassNotFound, 404, "")
			_, err = env.c.GetCustomer(ctx, "00000000000000000000000000000000")
			wantErr(t, err, cybersource.ClassNotFound, 404, "")

			env.sim.SetFaults(cybersourcesim.Faults{ErrorRate: 1})
			_, err = env.c.GetTransaction(ctx, "0000000000000000000000")
			wantErr(t, err, cybersource.ClassTransient, 502, "SYSTEM_ERROR")
			env.sim.SetFaults(cybersourcesim.Faults{})
		})
	}
}

// TestSimServerTimeoutRecoveryFindsThePaymentByReference follows the documented procedure after
// a transient error on a payment: the 4000000000000259 card creates the payment but answers 502
// SERVER_TIMEOUT; FindByReference finds it and a blind resend is refused as a duplicate.
func TestSimServerTimeoutRecoveryFindsThePaymentByReference(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			p := cardPayment("TMO-1", "4000000000000259", "12.34")
			_, err := env.c.CreatePayment(ctx, p)
			wantErr(t, err, cybersource.ClassTransient, 502, "SERVER_TIMEOUT")
			if !cybersource.OutcomeUnknown(err) {
				t.Fatal("a 502 on a payment leaves the outcome unknown")
			}
			found, err := env.c.FindByReference(ctx, "TMO-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].ClientReferenceInformation.Code != "TMO-1" || found[0].ID == "" {
				t.Fatalf("found %+v", found)
			}
			detail, err := env.c.GetTransaction(ctx, found[0].ID)
			if err != nil || !detail.OrderInformation.AmountDetails.TotalAmount.Equal(dec("12.34")) {
				t.Fatalf("detail %+v %v", detail, err)
			}
			_, err = env.c.CreatePayment(ctx, p)
			if !cybersource.IsDuplicate(err) {
				t.Fatalf("resend: %v, want DUPLICATE_REQUEST", err)
			}
		})
	}
}

func TestSimTransactionSearch(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			for i := range 5 {
				mustPay(t, env.c, cardPayment(fmt.Sprintf("SRCH-%d", i), "4111111111111111", "1.00"))
			}
			mustPay(t, env.c, cardPayment("OTHER-1", "4111111111111111", "1.00"))
			q := cybersource.NewSearchQuery().And("clientReferenceInformation.code", "SRCH-2")
			page, err := env.c.SearchTransactions(ctx, cybersource.SearchRequest{Query: q.String(), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if page.SearchID == "" || page.TotalCount != 1 || len(page.Transactions()) != 1 || page.Transactions()[0].ClientReferenceInformation.Code != "SRCH-2" {
				t.Fatalf("search %+v", page)
			}
			again, err := env.c.GetSearch(ctx, page.SearchID)
			if err != nil || again.TotalCount != 1 || len(again.Transactions()) != 1 {
				t.Fatalf("GetSearch %+v %v", again, err)
			}

			ranged := cybersource.NewSearchQuery().And("merchantId", cybersourcesim.DefaultMerchantID).
				AndRaw("submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}")
			var refs []string
			for tr, err := range env.c.SearchAll(ctx, cybersource.SearchRequest{Query: ranged.String(), Limit: 2, Sort: "submitTimeUtc:asc"}) {
				if err != nil {
					t.Fatal(err)
				}
				refs = append(refs, tr.ClientReferenceInformation.Code)
			}
			if len(refs) != 6 || refs[0] != "SRCH-0" || refs[5] != "OTHER-1" {
				t.Errorf("paged refs %v", refs)
			}
		})
	}
}

func TestSimDecisionManagerReviews(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			review := func(ref string) *cybersource.PaymentResult {
				p := cardPayment(ref, "4111111111111111", "40.00")
				p.BillTo.Email = "review@example.com"
				res := mustPay(t, env.c, p)
				if !res.PendingReview() {
					t.Fatalf("%s: %s", ref, res.Status)
				}
				return res
			}
			accepted := review("DM-1")
			act, err := env.c.TakeReviewAction(ctx, accepted.ID, cybersource.ReviewAction{Decision: cybersource.DecisionAccept, Comments: "ok", Actions: []string{cybersource.ReviewActionCapture}})
			if err != nil {
				t.Fatal(err)
			}
			if act.Status != "ACCEPTED" || act.Embedded.Capture == nil || act.Embedded.Capture.Links.Href("self") == "" {
				t.Fatalf("accept %+v", act)
			}
			_, err = env.c.TakeReviewAction(ctx, accepted.ID, cybersource.ReviewAction{Decision: cybersource.DecisionReject})
			wantErr(t, err, cybersource.ClassInvalidRequest, 400, "")

			rejected := review("DM-2")
			act, err = env.c.TakeReviewAction(ctx, rejected.ID, cybersource.ReviewAction{Decision: cybersource.DecisionReject, Comments: "fraud", Actions: []string{cybersource.ReviewActionReverse}})
			if err != nil || act.Status != "REJECTED" || act.Embedded.Reversal == nil {
				t.Fatalf("reject %+v %v", act, err)
			}

			byReviewer := review("DM-3")
			if err := env.sim.ResolveReview(byReviewer.ID, cybersource.DecisionReject, "analyst1", "stolen card"); err != nil {
				t.Fatal(err)
			}
			tr, err := env.c.GetTransaction(ctx, byReviewer.ID)
			if err != nil || tr.RiskInformation.Profile.Decision != cybersource.DecisionReject {
				t.Errorf("TSS after review: %+v %v", tr, err)
			}
			conv, err := env.query.ConversionDetails(ctx, simStart.Add(-time.Hour), simStart.Add(time.Hour), cybersourcesim.DefaultMerchantID)
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]cybersource.ConversionDetail{}
			for _, d := range conv.ConversionDetails {
				rows[d.RequestID] = d
			}
			if d := rows[byReviewer.ID]; d.OriginalDecision != cybersource.DecisionReview || d.NewDecision != cybersource.DecisionReject ||
				d.Reviewer != "analyst1" || d.ReviewerComments != "stolen card" || d.MerchantReferenceNumber != "DM-3" {
				t.Errorf("conversion row %+v", d)
			}
			if len(rows) != 3 {
				t.Errorf("%d conversion rows, want 3", len(rows))
			}

			// A risk-declined authorization asks for a reversal; the reversal either happens or
			// Cybersource (the simulator) already reversed it.
			p := cardPayment("DM-4", "4111111111111111", "40.00")
			p.BillTo.Email = "reject@example.com"
			rd := mustPay(t, env.c, p)
			if !rd.NeedsReversal() {
				t.Fatalf("%+v", rd)
			}
			rev, err := env.c.Reverse(ctx, rd.ID, cybersource.ReversalRequest{Reference: "DM-4", Amount: dec("40"), Currency: "USD"})
			var ce *cybersource.Error
			if !(err == nil && rev.Status == cybersource.StatusReversed) && !(errors.As(err, &ce) && ce.Reason == "AUTH_ALREADY_REVERSED") {
				t.Errorf("reversal of a risk-declined auth: %+v %v", rev, err)
			}
		})
	}
}

func TestSimTokenManagement(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()
			ii, err := env.c.CreateInstrumentIdentifier(ctx, cybersource.Card{Number: "4111111111111111"})
			if err != nil {
				t.Fatal(err)
			}
			if ii.ID == "" || ii.Existing || strings.Contains(ii.Card.MaskedNumber, "4111111111111111") {
				t.Fatalf("instrument identifier %+v", ii)
			}
			again, err := env.c.CreateInstrumentIdentifier(ctx, cybersource.Card{Number: "4111111111111111"})
			if err != nil || !again.Existing || again.ID != ii.ID {
				t.Fatalf("second tokenization %+v %v", again, err)
			}

			cust, err := env.c.CreateCustomer(ctx, cybersource.CustomerRequest{MerchantCustomerID: "WEBS01", Email: "buyer@example.com", Reference: "cust-1"})
			if err != nil {
				t.Fatal(err)
			}
			if cust.ID == "" || cust.BuyerInformation.MerchantCustomerID != "WEBS01" || cust.Links.Href("self") == "" {
				t.Fatalf("customer %+v", cust)
			}
			pi, err := env.c.CreatePaymentInstrument(ctx, cust.ID, cybersource.PaymentInstrumentRequest{InstrumentIdentifierID: ii.ID,
				Card: cybersource.CardExpiry{ExpirationMonth: "12", ExpirationYear: "2031", Type: "001"}, BillTo: billTo("buyer@example.com", "94105"), Default: true})
			if err != nil {
				t.Fatal(err)
			}
			if pi.ID == "" || pi.InstrumentIdentifier.ID != ii.ID {
				t.Fatalf("instrument %+v", pi)
			}
			upd, err := env.c.UpdateCustomer(ctx, cust.ID, cybersource.CustomerRequest{Email: "new@example.com", DefaultPaymentInstrumentID: pi.ID})
			if err != nil || upd.BuyerInformation.Email != "new@example.com" || upd.DefaultPaymentInstrument.ID != pi.ID {
				t.Fatalf("update %+v %v", upd, err)
			}
			got, err := env.c.GetCustomer(ctx, cust.ID)
			if err != nil || got.BuyerInformation.Email != "new@example.com" {
				t.Fatalf("get %+v %v", got, err)
			}
			list, err := env.c.ListPaymentInstruments(ctx, cust.ID, 0, 0) // no query string: JWT works
			if err == nil {
				_, err = env.query.ListPaymentInstruments(ctx, cust.ID, 0, 10)
			}
			if err != nil || len(list.Instruments()) != 1 || list.Instruments()[0].ID != pi.ID {
				t.Fatalf("list %+v %v", list, err)
			}
			gotPI, err := env.c.GetPaymentInstrument(ctx, cust.ID, pi.ID)
			if err != nil || gotPI.ID != pi.ID || gotPI.Card.ExpirationYear != "2031" {
				t.Fatalf("get instrument %+v %v", gotPI, err)
			}

			byCustomer := mustPay(t, env.c, cybersource.PaymentRequest{Reference: "TMS-1", CustomerID: cust.ID, Amount: dec("15"), Currency: "USD"})
			byInstrument := mustPay(t, env.c, cybersource.PaymentRequest{Reference: "TMS-2", PaymentInstrumentID: pi.ID, Amount: dec("16"), Currency: "USD"})
			for _, r := range []*cybersource.PaymentResult{byCustomer, byInstrument} {
				if r.Status != cybersource.StatusAuthorized {
					t.Errorf("token payment %+v", r)
				}
			}

			tc := cardPayment("TMS-3", "5555555555554444", "17.00")
			tc.Actions = []string{cybersource.ActionTokenCreate, cybersource.ActionDecisionSkip}
			tc.ActionTokenTypes = []string{cybersource.TokenTypeCustomer, cybersource.TokenTypePaymentInstrument, cybersource.TokenTypeInstrumentIdentifier}
			created := mustPay(t, env.c, tc)
			if created.TokenInformation.Customer.ID == "" || created.TokenInformation.PaymentInstrument.ID == "" || created.TokenInformation.InstrumentIdentifier.ID == "" {
				t.Errorf("TOKEN_CREATE tokens %+v", created.TokenInformation)
			}

			if err := env.c.DeletePaymentInstrument(ctx, cust.ID, pi.ID); err != nil {
				var e *cybersource.Error
				// TMS refuses to delete a customer's default instrument (409 conflict).
				if !errors.As(err, &e) || e.HTTPStatus != http.StatusConflict || !cybersource.IsInvalidRequest(err) {
					t.Fatalf("delete instrument: %v", err)
				}
			}
			if err := env.c.DeleteCustomer(ctx, cust.ID); err != nil {
				t.Fatal(err)
			}
			_, err = env.c.GetCustomer(ctx, cust.ID)
			wantErr(t, err, cybersource.ClassNotFound, http.StatusGone, "")

			_, err = env.c.CreatePaymentInstrument(ctx, tc.Reference, cybersource.PaymentInstrumentRequest{})
			if !cybersource.IsNotFound(err) && !cybersource.IsInvalidRequest(err) {
				t.Errorf("instrument for an unknown customer: %v", err)
			}
		})
	}
}

func TestSimRefusesWrongCredentials(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			sim := cybersourcesim.New(cybersourcesim.Options{})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			t.Cleanup(sim.Close)
			for name, cfg := range map[string]cybersource.Config{
				"wrong secret":   {Secret: "b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXMh", KeyID: cybersourcesim.DefaultKeyID, MerchantID: cybersourcesim.DefaultMerchantID},
				"wrong key id":   {Secret: cybersourcesim.DefaultSecret, KeyID: "unknown", MerchantID: cybersourcesim.DefaultMerchantID},
				"wrong merchant": {Secret: cybersourcesim.DefaultSecret, KeyID: cybersourcesim.DefaultKeyID, MerchantID: "someone_else"},
			} {
				cfg.BaseURL, cfg.Auth = srv.URL, auth
				c, err := cybersource.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.CreatePayment(t.Context(), cardPayment("AUTH-1", "4111111111111111", "1.00"))
				e := wantErr(t, err, cybersource.ClassAuth, 401, "")
				if e.Message != "Authentication Failed" || strings.Contains(err.Error(), cfg.Secret) || strings.Contains(err.Error(), "4111111111111111") {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// TestSimJWTQueryRequests isolates the GET-with-query calls in JWT mode: the SDK signs
// request-resource-path without the query string (JWTSigToken.js strips it), and so does the
// client.
func TestSimJWTQueryRequests(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, cybersource.AuthJWT, cybersourcesim.Options{})
	ctx := t.Context()
	day := simStart.Truncate(24 * time.Hour)
	window := cybersource.ReportWindow{Start: day, End: day.Add(24 * time.Hour)}
	calls := map[string]func() error{
		"ConversionDetails": func() error {
			_, err := env.c.ConversionDetails(ctx, window.Start, window.End, "")
			if cybersource.IsNotFound(err) {
				return nil
			}
			return err
		},
		"PaymentBatchSummaries": func() error { _, err := env.c.PaymentBatchSummaries(ctx, window, "", ""); return err },
		"NetFundings":           func() error { _, err := env.c.NetFundings(ctx, window, ""); return err },
		"DownloadReport": func() error {
			_, err := env.c.DownloadReport(ctx, cybersource.ReportDownload{ReportDate: day, ReportName: cybersource.ReportNamePaymentBatchDetail})
			if cybersource.IsNotFound(err) {
				return nil
			}
			return err
		},
		"ListPaymentInstruments with paging": func() error {
			_, err := env.c.ListPaymentInstruments(ctx, "00000000000000000000000000000000", 0, 10)
			if cybersource.IsNotFound(err) {
				return nil
			}
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if t.Failed() {
		// Say why, from the simulator's diagnostic header.
		signer, err := cybersource.NewJWTSigner(cybersourcesim.DefaultMerchantID, cybersourcesim.DefaultKeyID, cybersourcesim.DefaultSecret)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.url+"/reporting/v3/net-fundings?startTime=2026-03-10T00%3A00%3A00Z&endTime=2026-03-11T00%3A00%3A00Z", nil)
		if err := signer.SignRequest(req, nil); err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		t.Logf("simulator says: %d %s: %s", res.StatusCode, cybersourcesim.AuthErrorHeader, res.Header.Get(cybersourcesim.AuthErrorHeader))
	}
}

// webhookReceiver verifies every delivery with VerifyWebhook and records the parsed notifications.
type webhookReceiver struct {
	t        *testing.T
	keys     []cybersource.WebhookKey
	now      func() time.Time
	mu       sync.Mutex
	got      []*cybersource.Notification
	refused  []error
	failNext int // answer 500 to this many deliveries first
}

func (rcv *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := cybersource.VerifyWebhook(r.Header.Get(cybersource.WebhookSignatureHeader), body, rcv.keys, rcv.now(), 0)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if err != nil {
		rcv.refused = append(rcv.refused, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	n, err := cybersource.ParseNotification(body)
	if err != nil {
		rcv.refused = append(rcv.refused, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if n.EventType != r.Header.Get("v-c-event-type") || n.RequestType != r.Header.Get("v-c-request-type") {
		rcv.refused = append(rcv.refused, fmt.Errorf("headers disagree with body: %q/%q", r.Header.Get("v-c-event-type"), r.Header.Get("v-c-request-type")))
	}
	rcv.got = append(rcv.got, n)
	if rcv.failNext > 0 {
		rcv.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rcv *webhookReceiver) find(eventType, transactionID string) []*cybersource.Notification {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []*cybersource.Notification
	for _, n := range rcv.got {
		if n.EventType == eventType && (transactionID == "" || n.Payload.TransactionID == transactionID) {
			out = append(out, n)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSimWebhooksVerifyAndParse(t *testing.T) {
	t.Parallel()
	rcv := &webhookReceiver{t: t, keys: []cybersource.WebhookKey{
		{ID: "wh-key-0", Key: "b2xkLXJvdGF0ZWQtb3V0LXdlYmhvb2sta2V5LTMyYg=="}, // an older key still configured
		{ID: cybersourcesim.DefaultWebhookKeyID, Key: cybersourcesim.DefaultWebhookKey},
	}, failNext: 1}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	env := newSimEnv(t, cybersource.AuthHTTPSignature, cybersourcesim.Options{WebhookURL: hook.URL})
	rcv.now = time.Now // the simulator signs with the wall clock, as Cybersource does
	ctx := t.Context()

	a := mustPay(t, env.c, cardPayment("WH-1", "4111111111111111", "25.00"))
	// The first delivery is answered 500; the retry comes after a minute of simulator time.
	waitFor(t, "the first attempt", func() bool {
		rcv.mu.Lock()
		for _, err := range rcv.refused {
			t.Fatalf("receiver refused: %v", err)
		}
		rcv.mu.Unlock()
		return len(rcv.find(cybersource.EventAuthorizationAccepted, a.ID)) == 1
	})
	env.sim.Clock().Advance(61 * time.Second)
	waitFor(t, "the retry", func() bool { return len(rcv.find(cybersource.EventAuthorizationAccepted, a.ID)) == 2 })
	deliveries := rcv.find(cybersource.EventAuthorizationAccepted, a.ID)
	first, retry := deliveries[0], deliveries[1]
	if first.ID != retry.ID || !retry.IsRetry() || first.IsRetry() || first.TransactionTraceID == retry.TransactionTraceID {
		t.Errorf("retry: id %s/%s retry %v/%v trace %s/%s", first.ID, retry.ID, first.IsRetry(), retry.IsRetry(), first.TransactionTraceID, retry.TransactionTraceID)
	}
	if first.Payload.Reference != "WH-1" || first.Payload.Status != cybersource.StatusAuthorized || first.ProductID != "payments" ||
		first.WebhookID == "" || first.OrganizationID == "" || first.EventDate == "" {
		t.Errorf("notification %+v", first)
	}

	if _, err := env.c.Capture(ctx, a.ID, cybersource.CaptureRequest{Reference: "WH-1-C", Amount: dec("25"), Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "capture accepted", func() bool { return len(rcv.find(cybersource.EventCaptureAccepted, "")) == 1 })

	p := cardPayment("WH-2", "4111111111111111", "26.00")
	p.BillTo.Email = "review@example.com"
	rv := mustPay(t, env.c, p)
	if err := env.sim.ResolveReview(rv.ID, cybersource.DecisionReject, "analyst7", "chargeback risk"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the case decision", func() bool { return len(rcv.find(cybersource.EventDecisionReject, "")) == 1 })
	d := rcv.find(cybersource.EventDecisionReject, "")[0]
	if d.Payload.Decision != cybersource.DecisionReject || d.Payload.Reference != "WH-2" || d.Payload.TransactionID != rv.ID ||
		d.Payload.ReviewerComment != "chargeback risk" || d.ProductID != "decisionManager" {
		t.Errorf("decision notification %+v", d.Payload)
	}

	rcv.mu.Lock()
	refused := append([]error(nil), rcv.refused...)
	rcv.mu.Unlock()
	for _, err := range refused {
		t.Errorf("receiver refused a delivery: %v", err)
	}

	// A receiver holding only the wrong key refuses the simulator's signature.
	wrong := &webhookReceiver{t: t, keys: []cybersource.WebhookKey{{ID: cybersourcesim.DefaultWebhookKeyID, Key: "b2xkLXJvdGF0ZWQtb3V0LXdlYmhvb2sta2V5LTMyYg=="}}}
	wrongHook := httptest.NewServer(wrong)
	t.Cleanup(wrongHook.Close)
	env2 := newSimEnv(t, cybersource.AuthJWT, cybersourcesim.Options{WebhookURL: wrongHook.URL})
	wrong.now = time.Now
	mustPay(t, env2.c, cardPayment("WH-3", "4111111111111111", "1.00"))
	waitFor(t, "a refused delivery", func() bool {
		wrong.mu.Lock()
		defer wrong.mu.Unlock()
		return len(wrong.refused) > 0
	})
	wrong.mu.Lock()
	defer wrong.mu.Unlock()
	if !errors.Is(wrong.refused[0], cybersource.ErrNoValidSignature) || len(wrong.got) != 0 {
		t.Errorf("wrong key: %v, %d accepted", wrong.refused[0], len(wrong.got))
	}
}
