package cybersource

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzVerifyWebhook feeds arbitrary v-c-signature headers and bodies to the verifier: it must
// never panic, never accept an unsigned header, and always accept what SignWebhook produced.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add(signHook(f, hookKeyOld, hookBody, hookTime), hookBody)
	f.Add("t=1;keyId=;sig=", []byte("{}"))
	f.Add("t=;;;==;sig==", []byte(nil))
	f.Add("T=99999999999999999999;KEYID=wh-key-1;SIG=AAAA;sig=Zm9v", []byte("x"))
	f.Add("keyId=a=b=c", []byte("body"))
	keys := []WebhookKey{hookKeyOld, hookKeyNew}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifyWebhook(header, body, keys, hookTime, 0)
		if err == nil && !strings.Contains(strings.ToLower(header), "sig=") {
			t.Fatalf("accepted %q without a sig", header)
		}
		_, _ = ParseWebhookSignature(header)
		signed, err := SignWebhook(body, hookKeyNew, hookTime)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyWebhook(signed, body, keys, hookTime, 0); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := VerifyWebhook(signed, append(bytes.Clone(body), 'x'), keys, hookTime, 0); !errors.Is(err, ErrNoValidSignature) {
			t.Fatalf("tampered body: %v", err)
		}
	})
}

// FuzzParseNotification must never panic, and a parsed notification always has an event type
// and an id.
func FuzzParseNotification(f *testing.F) {
	f.Add(hookBody)
	f.Add([]byte(`{"eventType":"risk.casemanagement.decision.reject","payload":[{"data":{"id":1,"referenceNumber":"x","notes":[{"comment":"c"}]}}]}`))
	f.Add([]byte(`{"eventType":"a","payload":{"transactionResult":{"details":{"_embedded":{"capture":{"_links":{"self":[{"href":"/"}]}}}}}}}`))
	f.Add([]byte(`{"encData":"a.b.c.d.e"}`))
	f.Add([]byte(`a.b.c.d.e`))
	f.Add([]byte(`{"eventType":"risk.x.decision.","retryNumber":1e400,"payload":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			return
		}
		if n.EventType == "" || n.ID == "" {
			t.Fatalf("parsed without event type or id: %+v", n)
		}
	})
}

// FuzzBatchDetailReader must never panic on any file, and must report increasing line numbers.
func FuzzBatchDetailReader(f *testing.F) {
	f.Add([]byte(docReport))
	f.Add([]byte(strings.ReplaceAll(docReport, "\r\n", "\n")))
	f.Add([]byte("Payment Batch Detail Report,1.0,2026-03-01 to 2026-03-01\nbatch_id,batch_date,request_id,merchant_ref_number,currency,amount,transaction_type\n1,2026-03-01,\"a\"\"b\",\"x,y\",USD,-0.5,ics_credit\n"))
	f.Add([]byte("\xEF\xBB\xBF\"unterminated"))
	f.Add([]byte(",,,\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewBatchDetailReader(bytes.NewReader(data))
		last := 0
		for r.Next() {
			rec := r.Record()
			if rec.Line <= last {
				t.Fatalf("line %d after %d", rec.Line, last)
			}
			last = rec.Line
		}
		var re *ReportError
		if err := r.Err(); err != nil && !errors.As(err, &re) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

// FuzzResponseBodies feeds arbitrary 400/502 and 201 bodies to the error classifier and the
// result decoder: no panic, every error classified, every error string free of the body's
// card number when one was planted.
func FuzzResponseBodies(f *testing.F) {
	f.Add(400, []byte(`{"submitTimeUtc":"2026","status":"INVALID_REQUEST","reason":"MISSING_FIELD","message":"m","details":[{"field":"f","reason":"MISSING_FIELD"}]}`))
	f.Add(502, []byte(`{"status":"SERVER_ERROR","reason":"SERVER_TIMEOUT"}`))
	f.Add(401, []byte(`{"response":{"rmsg":{"error":"x"}}}`))
	f.Add(404, []byte(`{"errors":[{"type":"notFound","details":[{"name":"n"}]}]}`))
	f.Add(201, []byte(paymentResponse))
	f.Add(201, []byte(`{"status":"DECLINED","errorInformation":{"reason":"PROCESSOR_DECLINED","details":[{}]}}`))
	f.Add(400, []byte(`{"status":1,"reason":[],"message":{},"details":"x","response":{"rmsg":7}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := classifyResponse("Fuzz", http.MethodPost, "/pts/v2/payments", status, body)
		if e.Class < ClassTransient || e.Class > ClassConfiguration {
			t.Fatalf("unclassified: %v", e)
		}
		_ = e.Error()
		if len(e.Message) > maxMessageBytes+len("…") {
			t.Fatalf("message of %d bytes", len(e.Message))
		}
		for _, v := range []interface{ setRaw([]byte) }{&PaymentResult{}, &CaptureResult{}, &RefundResult{}, &VoidResult{}, &ReversalResult{}, &TransactionDetail{}} {
			if json.Unmarshal(body, v) == nil {
				if o, ok := v.(interface{ Err() error }); ok {
					_ = o.Err()
				}
			}
		}
		var s SearchResult
		_ = json.Unmarshal(body, &s)
	})
}

// FuzzVerifyHTTPSignature feeds arbitrary signature headers: no panic, and nothing verifies
// without the key.
func FuzzVerifyHTTPSignature(f *testing.F) {
	f.Add(`keyid="08c94330-f618-42a3-b09d-e1e43be5efda", algorithm="HmacSHA256", headers="host date request-target digest v-c-merchant-id", signature="jRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck="`, "POST")
	f.Add(`kid=x,headers="(request-target)",signature=AAAA`, "GET")
	f.Add(`keyid="a", headers="", signature="", "`, "PATCH")
	f.Add(`=,=,=`, "DELETE")
	f.Fuzz(func(t *testing.T, header, method string) {
		if !validMethod(method) {
			return
		}
		r := httptest.NewRequest(method, "https://apitest.cybersource.com/pts/v2/payments", strings.NewReader(vectorBody))
		r.RequestURI = "/pts/v2/payments"
		r.Header.Set("Date", vectorDate)
		r.Header.Set("Digest", Digest([]byte(vectorBody)))
		r.Header.Set("v-c-merchant-id", vectorMerchant)
		r.Header.Set("Signature", header)
		if _, err := VerifyHTTPSignature(r, []byte(vectorBody), vectorKeys(), vectorTime, 0); err == nil &&
			!strings.Contains(header, "jRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck=") {
			t.Fatalf("verified a header without the genuine signature: %q", header)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
