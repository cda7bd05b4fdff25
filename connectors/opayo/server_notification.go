package opayo

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxNotificationBytes bounds a notification body; real ones are about 1 KB.
const maxNotificationBytes = 64 << 10

// Sentinels of notification parsing and verification, for errors.Is.
var (
	// ErrMalformedNotification is a body that is not a form, repeats a field with different
	// values, or lacks VPSTxId or Status.
	ErrMalformedNotification = errors.New("opayo: malformed notification")
	// ErrNotSigned is a notification without VPSSignature.
	ErrNotSigned = errors.New("opayo: notification has no VPSSignature")
	// ErrSignatureMismatch is a VPSSignature that does not match the fields and security key:
	// a forgery, a tampered field, or the wrong transaction's key. Never apply such a message.
	ErrSignatureMismatch = errors.New("opayo: notification signature does not match")
	// ErrNoSecurityKey is Verify called without the transaction's SecurityKey.
	ErrNoSecurityKey = errors.New("opayo: no security key to verify the notification with")
)

// Notification is the Server protocol's POST to NotificationURL (opayo.md §4.1). Its fields are
// exactly as posted; nothing in it can be trusted until Verify succeeds.
type Notification struct {
	VPSProtocol string
	// TxType is PAYMENT, DEFERRED, AUTHENTICATE or TOKEN.
	TxType       string
	VendorTxCode string
	VPSTxID      string
	// Status is OK, NOTAUTHED, ABORT, REJECTED, AUTHENTICATED, REGISTERED, ERROR, PENDING.
	Status         string
	StatusDetail   string
	TxAuthNo       string
	AVSCV2         string
	AddressResult  string
	PostCodeResult string
	CV2Result      string
	GiftAid        string
	// ThreeDSecureStatus is the 3DSecureStatus field.
	ThreeDSecureStatus string
	CAVV               string
	AddressStatus      string
	PayerStatus        string
	CardType           string
	Last4Digits        string
	DeclineCode        string
	ExpiryDate         string
	FraudResponse      string
	BankAuthCode       string
	ACSTransID         string
	DSTransID          string
	SchemeTraceID      string
	Token              string
	Surcharge          string
	// VPSSignature is the MD5 Opayo sent, in upper-case hex.
	VPSSignature string
}

// notificationFields maps each wire name to its Notification field.
func (n *Notification) notificationFields() map[string]*string {
	return map[string]*string{
		"VPSProtocol": &n.VPSProtocol, "TxType": &n.TxType, "VendorTxCode": &n.VendorTxCode,
		"VPSTxId": &n.VPSTxID, "Status": &n.Status, "StatusDetail": &n.StatusDetail,
		"TxAuthNo": &n.TxAuthNo, "AVSCV2": &n.AVSCV2, "AddressResult": &n.AddressResult,
		"PostCodeResult": &n.PostCodeResult, "CV2Result": &n.CV2Result, "GiftAid": &n.GiftAid,
		"3DSecureStatus": &n.ThreeDSecureStatus, "CAVV": &n.CAVV, "AddressStatus": &n.AddressStatus,
		"PayerStatus": &n.PayerStatus, "CardType": &n.CardType, "Last4Digits": &n.Last4Digits,
		"DeclineCode": &n.DeclineCode, "ExpiryDate": &n.ExpiryDate, "FraudResponse": &n.FraudResponse,
		"BankAuthCode": &n.BankAuthCode, "ACSTransID": &n.ACSTransID, "DSTransID": &n.DSTransID,
		"SchemeTraceID": &n.SchemeTraceID, "Token": &n.Token, "Surcharge": &n.Surcharge,
		"VPSSignature": &n.VPSSignature,
	}
}

// ParseNotification reads a notification from its decoded form. A field posted twice with
// different values, or a form without VPSTxId or Status, is ErrMalformedNotification. It does
// not verify anything: call Verify before trusting a field.
func ParseNotification(form url.Values) (Notification, error) {
	var n Notification
	for name, dst := range n.notificationFields() {
		vs := form[name]
		if len(vs) == 0 {
			continue
		}
		for _, v := range vs[1:] {
			if v != vs[0] {
				return Notification{}, fmt.Errorf("%w: field %s posted twice with different values", ErrMalformedNotification, name)
			}
		}
		*dst = vs[0]
	}
	if n.VPSTxID == "" || n.Status == "" {
		return Notification{}, fmt.Errorf("%w: VPSTxId and Status are required", ErrMalformedNotification)
	}
	return n, nil
}

// ParseNotificationBody reads a notification from its raw application/x-www-form-urlencoded
// body.
func ParseNotificationBody(body []byte) (Notification, error) {
	if len(body) > maxNotificationBytes {
		return Notification{}, fmt.Errorf("%w: body larger than %d bytes", ErrMalformedNotification, maxNotificationBytes)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Notification{}, fmt.Errorf("%w: not a form body", ErrMalformedNotification)
	}
	return ParseNotification(form)
}

// ParseNotificationRequest reads a notification from the POST Opayo made to NotificationURL.
func ParseNotificationRequest(r *http.Request) (Notification, error) {
	if r.Method != http.MethodPost {
		return Notification{}, fmt.Errorf("%w: method %s, want POST", ErrMalformedNotification, sanitize(truncate(r.Method, 10)))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		return Notification{}, fmt.Errorf("%w: read body: %s", ErrMalformedNotification, sanitize(err.Error()))
	}
	return ParseNotificationBody(body)
}

// Verify checks VPSSignature against the notification's fields, the transaction's SecurityKey
// (from RegisterServerTransaction or Reporting GetTransactionDetail) and the vendor name. It
// rebuilds the MD5 chain of opayo.md §4.1 — VPSTxId, VendorTxCode, Status, TxAuthNo,
// lower(vendor), AVSCV2, Token (TOKEN only), SecurityKey, then AddressResult … BankAuthCode,
// plus ACSTransID, DSTransID, SchemeTraceID from protocol 4.00; a successful TOKEN
// registration stops after SecurityKey and hashes VPSTxId without braces — and compares it with
// VPSSignature in constant time, ignoring hex case.
func (n Notification) Verify(securityKey, vendor string) error {
	if securityKey == "" {
		return ErrNoSecurityKey
	}
	if strings.TrimSpace(n.VPSSignature) == "" {
		return ErrNotSigned
	}
	got, err := hex.DecodeString(strings.TrimSpace(n.VPSSignature))
	if err != nil || len(got) != md5.Size {
		return fmt.Errorf("%w: VPSSignature is not an MD5 in hex", ErrSignatureMismatch)
	}
	want := n.signature(securityKey, vendor)
	if subtle.ConstantTimeCompare(got, want[:]) != 1 {
		return ErrSignatureMismatch
	}
	return nil
}

// signature computes the MD5 Opayo signs the notification with.
func (n Notification) signature(securityKey, vendor string) [md5.Size]byte {
	token := strings.EqualFold(n.TxType, "TOKEN")
	tokenOK := token && strings.EqualFold(n.Status, "OK")
	vpsTxID := n.VPSTxID
	if tokenOK {
		vpsTxID = strings.NewReplacer("{", "", "}", "").Replace(vpsTxID)
	}
	tokenField := ""
	if token {
		tokenField = n.Token
	}
	var b strings.Builder
	for _, s := range []string{vpsTxID, n.VendorTxCode, n.Status, n.TxAuthNo, strings.ToLower(vendor), n.AVSCV2, tokenField, securityKey} {
		b.WriteString(s)
	}
	if !tokenOK {
		for _, s := range []string{
			n.AddressResult, n.PostCodeResult, n.CV2Result, n.GiftAid, n.ThreeDSecureStatus, n.CAVV,
			n.AddressStatus, n.PayerStatus, n.CardType, n.Last4Digits, n.DeclineCode, n.ExpiryDate,
			n.FraudResponse, n.BankAuthCode,
		} {
			b.WriteString(s)
		}
		if protocolAtLeast4(n.VPSProtocol) {
			b.WriteString(n.ACSTransID)
			b.WriteString(n.DSTransID)
			b.WriteString(n.SchemeTraceID)
		}
	}
	return md5.Sum([]byte(b.String()))
}

// protocolAtLeast4 reports whether VPSProtocol is 4.00 or later; an absent or unreadable
// version counts as current, which changes nothing when the 4.00 fields are absent too.
func protocolAtLeast4(v string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return true
	}
	return f >= 4
}

// ReplyStatus is the merchant's answer to a notification.
type ReplyStatus string

// Reply statuses (opayo.md §4.1): OK accepts the outcome; INVALID says the notification did
// not match what Payhub expects (Opayo cancels an authorisation); ERROR says Payhub failed.
const (
	ReplyOK      ReplyStatus = "OK"
	ReplyInvalid ReplyStatus = "INVALID"
	ReplyError   ReplyStatus = "ERROR"
)

// Reply is what WriteNotificationReply writes. RedirectURL, where Opayo sends the shopper next,
// is mandatory for every status.
type Reply struct {
	Status       ReplyStatus
	RedirectURL  string
	StatusDetail string
}

// maxStatusDetail bounds the reply's StatusDetail, which Opayo stores.
const maxStatusDetail = 255

// WriteNotificationReply writes the reply body "Status=…\r\nRedirectURL=…\r\n" followed by
// "StatusDetail=…\r\n" when there is one. When w is an http.ResponseWriter it also sets
// Content-Type text/plain and status 200. A reply with an unknown status, a missing or
// non-absolute RedirectURL, or a line break in any value is refused before anything is written.
func WriteNotificationReply(w io.Writer, r Reply) error {
	switch r.Status {
	case ReplyOK, ReplyInvalid, ReplyError:
	default:
		return fmt.Errorf("opayo: reply status %q must be OK, INVALID or ERROR", sanitize(truncate(string(r.Status), 20)))
	}
	u, err := url.Parse(r.RedirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("opayo: reply RedirectURL must be an absolute http(s) URL")
	}
	if strings.ContainsAny(r.RedirectURL, "\r\n") || strings.ContainsAny(r.StatusDetail, "\r\n") {
		return errors.New("opayo: reply values must not contain line breaks")
	}
	if len(r.StatusDetail) > maxStatusDetail {
		return fmt.Errorf("opayo: reply StatusDetail is longer than %d bytes", maxStatusDetail)
	}
	body := "Status=" + string(r.Status) + "\r\nRedirectURL=" + r.RedirectURL + "\r\n"
	if r.StatusDetail != "" {
		body += "StatusDetail=" + r.StatusDetail + "\r\n"
	}
	if rw, ok := w.(http.ResponseWriter); ok {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rw.WriteHeader(http.StatusOK)
	}
	_, err = io.WriteString(w, body)
	return err
}
