package opayosim

import (
	"net/http"
	"testing"
	"time"
)

func TestVoidOnTheSameDay(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "4929000000006", 1000)
	status, body := b.pi("GET", "/transactions/"+id+"/instructions", nil)
	wantPiError(t, status, body, http.StatusNotFound, "1019")

	status, body = b.instruct(id, "void", 0)
	if status != http.StatusCreated || str(body, "instructionType") != "void" {
		t.Fatalf("void: %d %v", status, body)
	}
	if d, err := time.Parse(time.RFC3339Nano, str(body, "date")); err != nil || !d.Equal(testStart) {
		t.Fatalf("instruction date %q", str(body, "date"))
	}
	_, body = b.pi("GET", "/transactions/"+id, nil)
	if str(body, "statusCode") != "2005" || str(body, "statusDetail") != "The Void was Successful." || str(body, "retrievalReference") != "0" {
		t.Fatalf("after void: %v", body)
	}
	status, body = b.pi("GET", "/transactions/"+id+"/instructions", nil)
	if status != http.StatusOK || str(body, "instructions.0.instructionType") != "void" {
		t.Fatalf("instructions: %d %v", status, body)
	}
	status, body = b.instruct(id, "void", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	status, body = b.refund(id, 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	if ts := b.stateOf(id); ts.TxStateID != txStateVoided || len(ts.Instructions) != 1 {
		t.Fatalf("state %+v", ts)
	}
}

func TestVoidRefusedOnAnotherDayOrAfterSettlement(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "4929000000006", 1000)
	b.sim.Clock().Advance(15*time.Hour + time.Minute) // 00:01 the next day: settled at midnight
	status, body := b.instruct(id, "void", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	if ts := b.stateOf(id); !ts.Settled || ts.BatchID == "" {
		t.Fatalf("not settled: %+v", ts)
	}
}

func TestVoidRules(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	refunded := b.mustPay("Payment", "4929000000006", 1000)
	_, rb := b.refund(refunded, 300)
	status, body := b.instruct(refunded, "void", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	// Voiding the refund gives the amount back to refund.
	if status, body = b.instruct(str(rb, "transactionId"), "void", 0); status != http.StatusCreated {
		t.Fatalf("void refund: %d %v", status, body)
	}
	if ts := b.stateOf(refunded); ts.RefundedMinor != 0 {
		t.Fatalf("refunded after voiding the refund: %d", ts.RefundedMinor)
	}

	_, auth := b.pay("Authenticate", "4929000000006", 1000)
	status, body = b.instruct(str(auth, "transactionId"), "void", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1013")

	deferred := b.mustPay("Deferred", "4929000000006", 1000)
	status, body = b.instruct(deferred, "void", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	status, body = b.instruct(deferred, "explode", 0)
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1009")
	status, body = b.instruct("00000000-0000-0000-0000-000000000000", "void", 0)
	wantPiError(t, status, body, http.StatusNotFound, "1012")
}

func TestDeferredReleaseOnceUpToTheDeferredAmount(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Deferred", "4929000000006", 1000)
	if ts := b.stateOf(id); ts.TxStateID != txStateDeferred {
		t.Fatalf("deferred state %d", ts.TxStateID)
	}
	status, body := b.refund(id, 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	status, body = b.instruct(id, "release", 1001)
	wantPiError(t, status, body, http.StatusForbidden, "1021")
	status, body = b.pi("POST", "/transactions/"+id+"/instructions", map[string]any{"instructionType": "release"})
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1003")
	status, body = b.pi("POST", "/transactions/"+id+"/instructions", map[string]any{"instructionType": "release", "amount": "800"})
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1016")

	if status, body = b.instruct(id, "release", 800); status != http.StatusCreated || str(body, "amount") != "800" {
		t.Fatalf("release: %d %v", status, body)
	}
	_, body = b.pi("GET", "/transactions/"+id, nil)
	if str(body, "statusCode") != "2004" || str(body, "status") != "Ok" {
		t.Fatalf("after release: %v", body)
	}
	status, body = b.instruct(id, "release", 100)
	wantPiError(t, status, body, http.StatusForbidden, "1021")
	status, body = b.instruct(id, "abort", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	// Refunds are limited by the released amount.
	status, body = b.refund(id, 801)
	wantPiError(t, status, body, http.StatusForbidden, "1018")
	if status, body = b.refund(id, 800); status != http.StatusCreated {
		t.Fatalf("refund released: %d %v", status, body)
	}
	if ts := b.stateOf(id); ts.ReleasedMinor == nil || *ts.ReleasedMinor != 800 || ts.TxStateID != txStateAuthorised {
		t.Fatalf("state %+v", ts)
	}
}

func TestDeferredAbort(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Deferred", "4929000000006", 1000)
	if status, body := b.instruct(id, "abort", 0); status != http.StatusCreated {
		t.Fatalf("abort: %d %v", status, body)
	}
	_, body := b.pi("GET", "/transactions/"+id, nil)
	if str(body, "statusCode") != "2006" {
		t.Fatalf("after abort: %v", body)
	}
	status, body := b.instruct(id, "release", 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	status, body = b.instruct(id, "abort", 0)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	payment := b.mustPay("Payment", "4929000000006", 1000)
	for _, kind := range []string{"abort", "release", "cancel"} {
		status, body = b.instruct(payment, kind, 100)
		wantPiError(t, status, body, http.StatusForbidden, "1013")
	}
}

func TestUnreleasedDeferredExpiresAfterThirtyDays(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Deferred", "4929000000006", 1000)
	b.sim.Clock().Advance(DeferredLifetime)
	if ts := b.stateOf(id); ts.TxStateID != txStateDeferredExpired || ts.Settled {
		t.Fatalf("state %+v", ts)
	}
	status, body := b.instruct(id, "release", 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
}
