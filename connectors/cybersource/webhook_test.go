package cybersource

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	hookKeyOld = WebhookKey{ID: "wh-key-1", Key: "cGF5aHViLXdlYmhvb2stc2lnbmluZy1rZXktMzJieXQ="}
	hookKeyNew = WebhookKey{ID: "wh-key-2", Key: base64.StdEncoding.EncodeToString([]byte("the-rotated-webhook-signing-key!"))}
	hookBody   = []byte(`{"eventType":"risk.casemanagement.decision.accept","webhookId":"e339","productId":"decisionManager","organizationId":"org","eventDate":"2026-03-01T10:00:00","transactionTraceId":"7ac2","retryNumber":0,"requestType":"NEW","payload":{"data":{"id":"6510049442466278803211","clientReferenceInformation":{"code":"SO-1"}}}}`)
	hookTime   = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

func signHook(t testing.TB, key WebhookKey, body []byte, at time.Time) string {
	t.Helper()
	h, err := SignWebhook(body, key, at)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSignWebhookFollowsTheProtocolFormula(t *testing.T) {
	t.Parallel()
	h := signHook(t, hookKeyOld, hookBody, hookTime)
	ts := strconv.FormatInt(hookTime.UnixMilli(), 10)
	want := "t=" + ts + ";keyId=wh-key-1;sig=" + hmacBase64(mustDecode(t, hookKeyOld.Key), ts+"."+string(hookBody))
	if h != want {
		t.Fatalf("header %s\nwant %s", h, want)
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	valid := signHook(t, hookKeyOld, hookBody, hookTime)
	sigOnly := valid[strings.Index(valid, "sig="):]
	ts := strconv.FormatInt(hookTime.UnixMilli(), 10)
	tests := []struct {
		name      string
		header    string
		body      []byte
		keys      []WebhookKey
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime},
		{name: "valid at the edge of the tolerance", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(WebhookToleranceDefault)},
		{name: "valid with spaces around parts", header: strings.ReplaceAll(valid, ";", " ; "), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime},
		{name: "rotated: old and new keys configured, signed with the old", header: valid, body: hookBody, keys: []WebhookKey{hookKeyNew, hookKeyOld}, now: hookTime},
		{name: "rotated: signed with the new key", header: signHook(t, hookKeyNew, hookBody, hookTime), body: hookBody, keys: []WebhookKey{hookKeyOld, hookKeyNew}, now: hookTime},
		{name: "keyId missing: every key is tried", header: "t=" + ts + ";" + sigOnly, body: hookBody, keys: []WebhookKey{hookKeyNew, hookKeyOld}, now: hookTime},
		{name: "keyId relabelled but the key verifies", header: strings.Replace(valid, "wh-key-1", "renamed", 1), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime},
		{name: "unlabelled configured key", header: valid, body: hookBody, keys: []WebhookKey{{Key: hookKeyOld.Key}}, now: hookTime},
		{name: "second sig part verifies", header: valid + ";sig=AAAA", body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime},
		{name: "negative tolerance skips the time check", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(48 * time.Hour), tolerance: -1},

		{name: "forged with another key", header: signHook(t, hookKeyNew, hookBody, hookTime), body: hookBody, keys: []WebhookKey{{ID: "wh-key-2", Key: hookKeyOld.Key}}, now: hookTime, want: ErrNoValidSignature},
		{name: "forged with an unknown key id", header: signHook(t, WebhookKey{ID: "evil", Key: hookKeyNew.Key}, hookBody, hookTime), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrUnknownKey},
		{name: "tampered body", header: valid, body: []byte(strings.Replace(string(hookBody), "accept", "reject", 1)), keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNoValidSignature},
		{name: "tampered timestamp", header: strings.Replace(valid, "t="+ts, "t="+strconv.FormatInt(hookTime.UnixMilli()+1, 10), 1), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNoValidSignature},
		{name: "replayed after the tolerance", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(WebhookToleranceDefault + time.Millisecond), want: ErrTooOld},
		{name: "replayed: also outside tolerance", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(time.Hour), want: ErrTimestampOutsideTolerance},
		{name: "future beyond the tolerance", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(-WebhookToleranceDefault - time.Second), want: ErrTooNew},
		{name: "custom tolerance", header: valid, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime.Add(2 * time.Minute), tolerance: time.Minute, want: ErrTooOld},
		{name: "no keys", header: valid, body: hookBody, now: hookTime, want: ErrUnknownKey},
		{name: "undecodable configured key", header: valid, body: hookBody, keys: []WebhookKey{{ID: "wh-key-1", Key: "%%%"}}, now: hookTime, want: ErrNoValidSignature},

		{name: "empty header", header: "", body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNotSigned},
		{name: "blank header", header: "   ", body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNotSigned},
		{name: "no t", header: "keyId=wh-key-1;" + sigOnly, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrInvalidHeader},
		{name: "no sig", header: "t=" + ts + ";keyId=wh-key-1", body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrInvalidHeader},
		{name: "t not a number", header: "t=yesterday;keyId=wh-key-1;" + sigOnly, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrInvalidHeader},
		{name: "part without =", header: "t=" + ts + ";keyId;" + sigOnly, body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrInvalidHeader},
		{name: "comma separated", header: strings.ReplaceAll(valid, ";", ","), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrInvalidHeader},
		{name: "sig not base64", header: "t=" + ts + ";keyId=wh-key-1;sig=!!!", body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNoValidSignature},
		{name: "sig truncated (padding lost by a split on every =)", header: strings.TrimRight(valid, "="), body: hookBody, keys: []WebhookKey{hookKeyOld}, now: hookTime, want: ErrNoValidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyWebhook(tt.header, tt.body, tt.keys, tt.now, tt.tolerance)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, k := range []WebhookKey{hookKeyOld, hookKeyNew} {
				if strings.Contains(err.Error(), k.Key) {
					t.Fatal("error holds a key")
				}
			}
		})
	}
}

func TestTimestampErrorsMatchBothSentinels(t *testing.T) {
	t.Parallel()
	valid := signHook(t, hookKeyOld, hookBody, hookTime)
	err := VerifyWebhook(valid, hookBody, []WebhookKey{hookKeyOld}, hookTime.Add(time.Hour), 0)
	if !errors.Is(err, ErrTooOld) || !errors.Is(err, ErrTimestampOutsideTolerance) || errors.Is(err, ErrTooNew) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseWebhookSignatureKeepsPaddingAndTheRawTimestamp(t *testing.T) {
	t.Parallel()
	s, err := ParseWebhookSignature("T=0001700000000000; KEYID = k=1 ;sig=AAE=;extra=ignored")
	if err != nil {
		t.Fatal(err)
	}
	if s.Timestamp != "0001700000000000" || !s.Time.Equal(time.UnixMilli(1700000000000)) || s.KeyID != "k=1" ||
		len(s.Signatures) != 1 || string(s.Signatures[0]) != "\x00\x01" {
		t.Fatalf("%+v", s)
	}
}
