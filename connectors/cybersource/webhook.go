package cybersource

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WebhookToleranceDefault is how old (or how far in the future) a webhook's signed timestamp may
// be, as Cybersource's own SFCC cartridge checks it. The implementation guide's sample allows an
// hour; five minutes keeps the replay window short (each delivery attempt is signed when sent).
const WebhookToleranceDefault = 5 * time.Minute

// WebhookSignatureHeader is the header that carries a notification's signature.
const WebhookSignatureHeader = "v-c-signature"

// Errors from VerifyWebhook.
var (
	// ErrNotSigned: the v-c-signature header is empty.
	ErrNotSigned = errors.New("cybersource: webhook has no v-c-signature header")
	// ErrInvalidHeader: the header is not "t=<epoch ms>;keyId=<id>;sig=<base64>".
	ErrInvalidHeader = errors.New("cybersource: webhook has an invalid v-c-signature header")
	// ErrNoValidSignature: no configured key produces the header's signature over this body.
	ErrNoValidSignature = errors.New("cybersource: webhook has no valid signature")
	// ErrUnknownKey: the header names a keyId no configured key has, and no key verified it.
	ErrUnknownKey = errors.New("cybersource: webhook signed with an unknown key")
	// ErrTimestampOutsideTolerance: the signed timestamp is too old or too far in the future.
	// Every such error also matches ErrTooOld or ErrTooNew.
	ErrTimestampOutsideTolerance = errors.New("cybersource: webhook timestamp outside the tolerance")
	// ErrTooOld: the signed timestamp is older than the tolerance (a replay, or a long delay).
	ErrTooOld = errors.New("cybersource: webhook timestamp too old")
	// ErrTooNew: the signed timestamp is further in the future than the tolerance.
	ErrTooNew = errors.New("cybersource: webhook timestamp in the future")
)

// WebhookKey is a webhook signature key as Cybersource's key management returns it
// (keyInformation.keyId and .key).
type WebhookKey struct {
	// ID is the keyId the header names. An empty ID matches any header keyId.
	ID string
	// Key is the base64 shared secret. Never printed.
	Key string
}

// String hides the key.
func (k WebhookKey) String() string {
	return fmt.Sprintf("cybersource.WebhookKey{ID: %q, Key: redacted}", k.ID)
}

// GoString hides the key from %#v as well.
func (k WebhookKey) GoString() string { return k.String() }

// WebhookSignature is a parsed v-c-signature header.
type WebhookSignature struct {
	// Timestamp is t, kept as sent because it is part of the signed text.
	Timestamp string
	// Time is t as a time.
	Time time.Time
	// KeyID is keyId.
	KeyID string
	// Signatures holds every sig value, decoded.
	Signatures [][]byte
}

// ParseWebhookSignature splits a v-c-signature header on ";" and each part on its first "=",
// so base64 padding survives. Names are matched case-insensitively; several sig parts are
// allowed; unknown parts are ignored. A missing or non-numeric t, or no sig, is ErrInvalidHeader.
// A sig that is not base64 is dropped, so it can never verify.
func ParseWebhookSignature(header string) (WebhookSignature, error) {
	var s WebhookSignature
	if strings.TrimSpace(header) == "" {
		return s, ErrNotSigned
	}
	sawSig := false
	for part := range strings.SplitSeq(header, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return s, fmt.Errorf("%w: part without '='", ErrInvalidHeader)
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms < 0 {
				return s, fmt.Errorf("%w: t is not epoch milliseconds", ErrInvalidHeader)
			}
			s.Timestamp, s.Time = value, time.UnixMilli(ms)
		case "keyid":
			s.KeyID = value
		case "sig":
			sawSig = true
			if b, err := base64.StdEncoding.DecodeString(value); err == nil && len(b) > 0 {
				s.Signatures = append(s.Signatures, b)
			}
		}
	}
	if s.Timestamp == "" || !sawSig {
		return s, fmt.Errorf("%w: t and sig are required", ErrInvalidHeader)
	}
	return s, nil
}

// VerifyWebhook checks a notification's v-c-signature header against its raw body (§7):
// sig = base64(HMAC-SHA256(base64decode(key), t + "." + body)), compared in constant time.
//
// Keys: several may be configured at once, for rotation. When the header's keyId matches
// configured keys, only those (and keys with an empty ID) are tried. When the keyId is absent or
// unknown, every key is tried, because an HMAC that verifies proves the sender holds the key
// whatever label it used; if none verifies, an unknown keyId gives ErrUnknownKey so the operator
// learns a new key must be installed, else ErrNoValidSignature.
//
// Time: t must be within tolerance of now, in either direction (WebhookToleranceDefault when
// tolerance is 0). A negative tolerance skips the check, for re-verifying stored messages only.
// The signature is checked before the time, so an unauthenticated sender learns nothing from the
// timestamp errors.
func VerifyWebhook(header string, body []byte, keys []WebhookKey, now time.Time, tolerance time.Duration) error {
	sig, err := ParseWebhookSignature(header)
	if err != nil {
		return err
	}
	known := false
	if sig.KeyID != "" {
		for _, k := range keys {
			if k.ID == sig.KeyID {
				known = true
				break
			}
		}
	}
	verified := false
	for _, k := range keys {
		if known && k.ID != sig.KeyID && k.ID != "" {
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil || len(secret) == 0 {
			continue
		}
		if webhookSignatureMatches(secret, sig, body) {
			verified = true
			break
		}
	}
	if !verified {
		if sig.KeyID != "" && !known {
			return ErrUnknownKey
		}
		return ErrNoValidSignature
	}
	if tolerance < 0 {
		return nil
	}
	if tolerance == 0 {
		tolerance = WebhookToleranceDefault
	}
	switch d := now.Sub(sig.Time); {
	case d > tolerance:
		return fmt.Errorf("%w: %w", ErrTimestampOutsideTolerance, ErrTooOld)
	case d < -tolerance:
		return fmt.Errorf("%w: %w", ErrTimestampOutsideTolerance, ErrTooNew)
	}
	return nil
}

func webhookSignatureMatches(secret []byte, sig WebhookSignature, body []byte) bool {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(sig.Timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, s := range sig.Signatures {
		if hmac.Equal(want, s) {
			ok = true
		}
	}
	return ok
}

// SignWebhook returns the v-c-signature header Cybersource would send for body at time t with
// key: for tests, simulators and replay tools.
func SignWebhook(body []byte, key WebhookKey, t time.Time) (string, error) {
	secret, err := base64.StdEncoding.DecodeString(key.Key)
	if err != nil || len(secret) == 0 {
		return "", localError("SignWebhook", ClassConfiguration, "webhook key is not non-empty standard base64")
	}
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ";keyId=" + key.ID + ";sig=" + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}
